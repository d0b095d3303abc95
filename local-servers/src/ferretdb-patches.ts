/**
 * Source patches applied to FerretDB's module (from the Go module proxy) before the embedded
 * server is built. Each one is an exact, one-occurrence text replacement: if FerretDB's source
 * ever differs from what a patch expects, the build stops with a clear error instead of building
 * something unpatched or mis-patched.
 *
 * Keep this list short and each entry explained: the point is to run real FerretDB, fixing only
 * what makes it unusable for this project.
 */
export interface SourcePatch {
  /** Path inside the FerretDB module. */
  file: string;
  /** Text that must occur exactly once in `file`. */
  find: string;
  replace: string;
  why: string;
}

/** A Go file added to one of FerretDB's packages (it must not exist there yet). */
export interface SourceAddition {
  file: string;
  content: string;
  why: string;
}

const ID_IN_WHY =
  'FerretDB v1.24 (SQLite) pushes down only `{ _id: <string or ObjectId> }`: a `find({ _id: { $in: [...] } })` reads and decodes ' +
  'the whole collection (2 s at 12,000 trips here), and the projectors load each batch that way. Pushing `{ _id: { $in: [...] } }` ' +
  'down as `WHERE <_id> IN (...)` makes it one index search per id. Safe: FerretDB filters every pushed-down result again ' +
  'with the full MongoDB semantics, so the pushdown only has to return a superset (here: exactly the matching documents).';

const ORDERED_WHY =
  'FerretDB v1.24 pushes down no sort, and a limit only without a filter and a sort: a page of the trip history, ' +
  '`find(filter).sort({ createdAt: -1, _id: -1 }).limit(n)`, reads and decodes every matching document and sorts them in ' +
  'memory (whole seconds at 12,000 trips). A find whose `comment` is `happyride:ordered-keys` (the caller promises that the ' +
  "fields its sort and filter name hold strings without characters JSON escapes or below '#', or, for filter fields, null " +
  'or nothing: never arrays or other types) with no skip, a limit, up to 3 top-level sort fields in one direction and a ' +
  'filter that translates whole (string equality, `$in`, `$lt`/`$lte`/`$gt`/`$gte` with strings, `$and`, `$or`) runs as ' +
  "`WHERE <filter> ORDER BY _ferretdb_sjson->'f' … LIMIT n` on the expressions FerretDB's indexes are built on: SQLite walks " +
  'the index and stops after n rows. Exact under the promise: the JSON text of such a string is the string in double ' +
  'quotes, so SQLite orders and compares the texts (bytewise) as MongoDB orders and compares the strings (a closing quote ' +
  "sorts below every character a longer string could go on with, none being below '#'), and every other type's text " +
  "(or NULL) falls outside the strings' range; so the n rows are the first n matches, which the handler filters, sorts and " +
  'limits again as before. Without ' +
  'the comment nothing changes; on MongoDB the comment is only a comment.';

/** The ordered-limit pushdown (ORDERED_WHY): the handler passes sort and limit in new fields, the `$natural` contract stays as is. */
const ORDERED_PATCHES: readonly SourcePatch[] = [
  {
    file: 'internal/backends/collection.go',
    find: `	OnlyRecordIDs bool
	Comment       string
}`,
    replace: `	OnlyRecordIDs bool
	Comment       string

	// OrderedSort and OrderedLimit (Happyride): applied with the filter if the backend can push the
	// whole filter down exactly; see handler/happyride_ordered.go.
	OrderedSort  *types.Document
	OrderedLimit int64
}`,
    why: ORDERED_WHY,
  },
  {
    file: 'internal/backends/collection.go',
    find: `type ExplainParams struct {
	Filter *types.Document
	Sort   *types.Document
	Limit  int64
}`,
    replace: `type ExplainParams struct {
	Filter *types.Document
	Sort   *types.Document
	Limit  int64

	// As in QueryParams (Happyride).
	OrderedSort  *types.Document
	OrderedLimit int64
}`,
    why: 'The same in `explain`, so that it shows what `find` does.',
  },
  {
    file: 'internal/handler/msg_find.go',
    find: `		qp.Limit = params.Limit
	}

	h.L.DebugContext(`,
    replace: `		qp.Limit = params.Limit
	}

	if !h.DisablePushdown && !params.Tailable {
		qp.OrderedSort, qp.OrderedLimit = orderedPushdown(params.Comment, params.Filter, qp.Filter, params.Sort, params.Skip, params.Limit)
	}

	h.L.DebugContext(`,
    why: ORDERED_WHY,
  },
  {
    file: 'internal/handler/msg_explain.go',
    find: `		qp.Limit = params.Limit
	}

	res, err := coll.Explain(connCtx, qp)`,
    replace: `		qp.Limit = params.Limit
	}

	if !h.DisablePushdown && !params.Aggregate {
		qp.OrderedSort, qp.OrderedLimit = orderedPushdown(explainComment(params.Command), params.Filter, qp.Filter, params.Sort, params.Skip, params.Limit)
	}

	res, err := coll.Explain(connCtx, qp)`,
    why: 'The same in `explain`, so that it shows what `find` does.',
  },
  {
    file: 'internal/backends/sqlite/collection.go',
    find: `	q += whereClause
	q += prepareOrderByClause(params.Sort)`,
    replace: `	if params.Sort.Len() == 0 && params.Limit == 0 {
		if clause, orderedArgs, ok := orderedQuery(params.Filter, params.OrderedSort, params.OrderedLimit); ok {
			whereClause, args = clause, orderedArgs
		}
	}

	q += whereClause
	q += prepareOrderByClause(params.Sort)`,
    why: ORDERED_WHY,
  },
  {
    file: 'internal/backends/sqlite/collection.go',
    find: `	orderByClause := prepareOrderByClause(params.Sort)
	sortPushdown := orderByClause != ""

	q := \`EXPLAIN QUERY PLAN \` + selectClause + whereClause + orderByClause

	var limitPushdown bool
`,
    replace: `	orderByClause := prepareOrderByClause(params.Sort)
	sortPushdown := orderByClause != ""

	var limitPushdown bool

	if params.Sort.Len() == 0 && params.Limit == 0 {
		if clause, orderedArgs, ok := orderedQuery(params.Filter, params.OrderedSort, params.OrderedLimit); ok {
			whereClause, args = clause, orderedArgs
			filterPushdown, sortPushdown, limitPushdown = true, true, true
		}
	}

	q := \`EXPLAIN QUERY PLAN \` + selectClause + whereClause + orderByClause
`,
    why: 'The same in `explain`, so that it shows what `find` does: filterPushdown, sortPushdown and limitPushdown all true.',
  },
];

const TRACK_WHY =
  'FerretDB v1.24 tracks every iterator, cursor and connection it opens for leak detection (internal/util/resource): a ' +
  'reflection check of the arguments, an entry with a stack trace in a pprof profile and a finalizer, then the reverse on ' +
  'close, in every build. A CPU profile of a trip page (10 trips, index-backed) put 15% of FerretDB\'s time there. The ' +
  'tracking only reports leaks (its finalizer panics on an object never closed), so it is kept for debug builds ' +
  '(debugbuild.Enabled, as FerretDB already does for the stack trace) and skipped otherwise; nothing else reads it.';

/** Leak tracking (TRACK_WHY) only in FerretDB's debug builds. */
const TRACK_PATCHES: readonly SourcePatch[] = [
  {
    file: 'internal/util/resource/resource.go',
    find: `func Track(obj any, token *Token) {
	checkArgs(obj, token)
`,
    replace: `func Track(obj any, token *Token) {
	if !debugbuild.Enabled {
		return
	}

	checkArgs(obj, token)
`,
    why: TRACK_WHY,
  },
  {
    file: 'internal/util/resource/resource.go',
    find: `func Untrack(obj any, token *Token) {
	checkArgs(obj, token)
`,
    replace: `func Untrack(obj any, token *Token) {
	if !debugbuild.Enabled {
		return
	}

	checkArgs(obj, token)
`,
    why: TRACK_WHY,
  },
];

const UPDATE_WHY =
  "FerretDB v1.24's `update` command runs a query per statement and closes it only when the whole command ends (`defer` " +
  'inside its loop over the statements, handler/msg_update.go). A query that matched holds one of the 100 SQLite connections ' +
  'of the database (backends/sqlite/metadata/pool/opendb.go) until then: an `updateOne` reads one row and never reads on to ' +
  "the end, which is what would release it. So the statements in flight of all update commands together (the projectors' " +
  'bulk writes: 4 commands holding 23 to 29 each at 4 partitions here) take the whole pool, each command waits for one more connection for its next ' +
  'statement, and none ever ends; a `createIndexes` then waits for a connection while holding the metadata lock every ' +
  'command takes, and the server answers nobody (goroutine dump: 100 `database/sql.(*Rows).awaitDone`, the update ' +
  'commands in `(*DB).conn`, `(*Registry).IndexesCreate` in `(*DB).conn`, every other command in `RWMutex.RLock`). ' +
  'Each statement now reads its (at most one, or for `multi` all) matching documents, closes its query and then writes, ' +
  'as FerretDB\'s delete already does ("close read transaction before starting write transaction"): an update command ' +
  'holds one connection at a time, so none waits for a connection while holding another. Same result: the read and the ' +
  'write were never in one transaction.';

/** Update statements release their query before writing (UPDATE_WHY). */
const UPDATE_PATCHES: readonly SourcePatch[] = [
  {
    file: 'internal/handler/msg_update.go',
    find: `		closer := iterator.NewMultiCloser()
		defer closer.Close()

		closer.Add(res.Iter)

		iter := common.FilterIterator(res.Iter, closer, u.Filter)

		if !u.Multi {
			iter = common.LimitIterator(iter, closer, 1)
		}

		result, err := common.UpdateDocument(ctx, c, "update", iter, &u)
		if err != nil {`,
    replace: `		closer := iterator.NewMultiCloser()

		closer.Add(res.Iter)

		iter := common.FilterIterator(res.Iter, closer, u.Filter)

		if !u.Multi {
			iter = common.LimitIterator(iter, closer, 1)
		}

		// Happyride: read the matching documents and close the query (its pooled SQLite
		// connection) before writing, as execDelete does, instead of when the command ends.
		matchedDocs, err := iterator.ConsumeValues(iter)
		closer.Close()

		if err != nil {
			return 0, 0, nil, lazyerrors.Error(err)
		}

		matchedIter := iterator.Values(iterator.ForSlice(matchedDocs))
		result, err := common.UpdateDocument(ctx, c, "update", matchedIter, &u)
		matchedIter.Close()

		if err != nil {`,
    why: UPDATE_WHY,
  },
];

const ID_AMONG_FIELDS_WHY =
  'FerretDB v1.24 (SQLite) pushes down `_id` only when it is the whole filter: a write aimed at one document by `_id` ' +
  'that also states what it expects of it (a projector\'s `{ _id, version: 3, fence: { $not: { $gt: 7 } } }`: its ' +
  'version guard and its lease\'s fencing token) reads and decodes the whole collection, so such writes made a replay ' +
  'quadratic. A filter that names `_id` (a string or an ObjectId) among other fields is pushed down as `WHERE <_id> = ?`: ' +
  'one index search, at most one row, which FerretDB filters again with the whole filter (a superset, as the others).';

/** `_id` pushed down from a filter of several fields (ID_AMONG_FIELDS_WHY); after ORDERED_PATCHES, whose text it finds. */
const ID_AMONG_FIELDS_PATCHES: readonly SourcePatch[] = [
  {
    file: 'internal/backends/sqlite/collection.go',
    find: `
	q += whereClause
	q += prepareOrderByClause(params.Sort)`,
    replace: `
	if whereClause == "" {
		whereClause, args = idAmongFieldsWhereClause(params.Filter)
	}

	q += whereClause
	q += prepareOrderByClause(params.Sort)`,
    why: ID_AMONG_FIELDS_WHY,
  },
  {
    file: 'internal/backends/sqlite/collection.go',
    find: `
	q := \`EXPLAIN QUERY PLAN \` + selectClause + whereClause + orderByClause`,
    replace: `
	if whereClause == "" {
		whereClause, args = idAmongFieldsWhereClause(params.Filter)
		filterPushdown = whereClause != ""
	}

	q := \`EXPLAIN QUERY PLAN \` + selectClause + whereClause + orderByClause`,
    why: 'The same in `explain`, so that it shows what `find` does.',
  },
];

export const FERRETDB_PATCHES: readonly SourcePatch[] = [
  {
    file: 'internal/backends/sqlite/metadata/metadata.go',
    find: `IDColumn = DefaultColumn + "->'$._id'"`,
    replace: `IDColumn = DefaultColumn + "->'_id'"`,
    why:
      "FerretDB v1.24's SQLite backend creates every collection's unique `_id` index on the expression `_ferretdb_sjson->\"_id\"` " +
      "but looks documents up by `_ferretdb_sjson->'$._id'`: the same value, a different expression, so SQLite never uses the " +
      'index and every find, update, replace, upsert or delete by `_id` scans and parses the whole table (writes of n documents ' +
      "cost O(n²); EXPLAIN shows `SCAN`). `->'_id'` is the expression the index was built on, so lookups become index searches.",
  },
  {
    file: 'internal/backends/sqlite/collection.go',
    find: `		case string, types.ObjectID:
			whereClause = fmt.Sprintf(\` WHERE %s = ?\`, metadata.IDColumn)
			args = []any{string(must.NotFail(sjson.MarshalSingleValue(v)))}
		}
	}

	q += whereClause`,
    replace: `		case string, types.ObjectID:
			whereClause = fmt.Sprintf(\` WHERE %s = ?\`, metadata.IDColumn)
			args = []any{string(must.NotFail(sjson.MarshalSingleValue(v)))}
		case *types.Document:
			whereClause, args = idInWhereClause(v)
		case nil:
			whereClause, args = fieldWhereClause(params.Filter)
		}
	}

	q += whereClause`,
    why: ID_IN_WHY,
  },
  {
    file: 'internal/backends/sqlite/collection.go',
    find: `		case string, types.ObjectID:
			filterPushdown = true
			whereClause = fmt.Sprintf(\` WHERE %s = ?\`, metadata.IDColumn)
			args = []any{string(must.NotFail(sjson.MarshalSingleValue(v)))}
		}`,
    replace: `		case string, types.ObjectID:
			filterPushdown = true
			whereClause = fmt.Sprintf(\` WHERE %s = ?\`, metadata.IDColumn)
			args = []any{string(must.NotFail(sjson.MarshalSingleValue(v)))}
		case *types.Document:
			whereClause, args = idInWhereClause(v)
			filterPushdown = whereClause != ""
		case nil:
			whereClause, args = fieldWhereClause(params.Filter)
			filterPushdown = whereClause != ""
		}`,
    why: 'The same in `explain`, so that it shows what `find` does.',
  },
  ...ORDERED_PATCHES,
  ...TRACK_PATCHES,
  ...UPDATE_PATCHES,
  ...ID_AMONG_FIELDS_PATCHES,
];

const FIELD_WHY =
  'Any filter but `_id` reads and decodes the whole collection in FerretDB v1.24 (SQLite), indexes or not: the trip-history ' +
  "projector's find of a renamed person's trips (`{ passengerId: { $in: [...] } }`) took 2 s at 12,000 trips, once per batch " +
  'with a rename. A filter of one top-level field compared with strings is pushed down as `f IN (...)` OR `f` is an array ' +
  '(MongoDB matches arrays holding the value too), which SQLite answers from the index FerretDB built on `f`. Also a superset, ' +
  'filtered again by FerretDB.';

export const FERRETDB_ADDITIONS: readonly SourceAddition[] = [
  {
    file: 'internal/backends/sqlite/happyride_pushdown.go',
    why: `${ID_IN_WHY} ${FIELD_WHY} ${ID_AMONG_FIELDS_WHY}`,
    content: `// Added by Happyride Graph's local-servers build (local-servers/src/ferretdb-patches.ts).

package sqlite

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/FerretDB/FerretDB/internal/backends/sqlite/metadata"
	"github.com/FerretDB/FerretDB/internal/handler/sjson"
	"github.com/FerretDB/FerretDB/internal/types"
	"github.com/FerretDB/FerretDB/internal/util/must"
)

// inMaxValues bounds the SQL parameters of one pushed-down $in (SQLite allows 32766).
const inMaxValues = 1000

// inArgs returns the SQL arguments (sjson, as stored) for the condition {$in: [...]} whose
// values all pass allowed, or false (no pushdown) for any other condition.
func inArgs(condition any, allowed func(any) bool) ([]any, bool) {
	cond, ok := condition.(*types.Document)
	if !ok || cond.Len() != 1 {
		return nil, false
	}

	in, err := cond.Get("$in")
	if err != nil {
		return nil, false
	}

	values, ok := in.(*types.Array)
	if !ok || values.Len() == 0 || values.Len() > inMaxValues {
		return nil, false
	}

	args := make([]any, 0, values.Len())

	for i := 0; i < values.Len(); i++ {
		v := must.NotFail(values.Get(i))
		if !allowed(v) {
			return nil, false
		}

		args = append(args, string(must.NotFail(sjson.MarshalSingleValue(v))))
	}

	return args, true
}

func isString(v any) bool {
	_, ok := v.(string)
	return ok
}

func isStringOrObjectID(v any) bool {
	switch v.(type) {
	case string, types.ObjectID:
		return true
	default:
		return false
	}
}

// placeholders returns "?, ?, ..." for n arguments.
func placeholders(n int) string {
	return "?" + strings.Repeat(", ?", n-1)
}

// idInWhereClause returns " WHERE <_id> IN (?, ...)" and its arguments for the _id condition
// {$in: [<string or ObjectID>, ...]}, or "" (no pushdown) for any other condition.
func idInWhereClause(condition any) (string, []any) {
	args, ok := inArgs(condition, isStringOrObjectID)
	if !ok {
		return "", nil
	}

	return fmt.Sprintf(\` WHERE %s IN (%s)\`, metadata.IDColumn, placeholders(len(args))), args
}

// pushableField is a top-level field name that is safe to put in a SQLite JSON path as is.
var pushableField = regexp.MustCompile(\`^[A-Za-z][A-Za-z0-9_]*$\`)

// fieldWhereClause pushes down a filter of one top-level field (not _id) compared with strings:
// {f: <string>} or {f: {$in: [<string>, ...]}}. In MongoDB these also match a document whose f
// is an array holding one of the strings, so the clause returns those documents too:
//
//	WHERE (f IN (?, ...) OR (f >= '[' AND f < '\\'))
//
// (the JSON text of an array, and only of an array, starts with "["). Both terms compare the
// expression FerretDB's indexes on f are built on, so SQLite answers from an index on f when the
// collection has one (MULTI-INDEX OR), and scans in SQLite otherwise. Either way the answer is a
// superset of the matching documents, which FerretDB's handlers filter again.
func fieldWhereClause(filter *types.Document) (string, []any) {
	if filter.Len() != 1 {
		return "", nil
	}

	field := filter.Keys()[0]
	if !pushableField.MatchString(field) {
		return "", nil
	}

	var args []any

	switch v := must.NotFail(filter.Get(field)).(type) {
	case string:
		args = []any{string(must.NotFail(sjson.MarshalSingleValue(v)))}
	default:
		var ok bool
		if args, ok = inArgs(v, isString); !ok {
			return "", nil
		}
	}

	column := fmt.Sprintf("%s->'%s'", metadata.DefaultColumn, field)
	clause := fmt.Sprintf(
		\` WHERE (%[1]s IN (%[2]s) OR (%[1]s >= '[' AND %[1]s < '\\'))\`,
		column, placeholders(len(args)),
	)

	return clause, args
}

// idAmongFieldsWhereClause pushes down the _id of a filter that names it (a string or an
// ObjectID) among other fields, as a projector's guarded and fenced writes do:
// " WHERE <_id> = ?", at most one document, which FerretDB's handlers filter again.
func idAmongFieldsWhereClause(filter *types.Document) (string, []any) {
	if filter.Len() < 2 {
		return "", nil
	}

	v, err := filter.Get("_id")
	if err != nil {
		return "", nil
	}

	switch v.(type) {
	case string, types.ObjectID:
		return fmt.Sprintf(\` WHERE %s = ?\`, metadata.IDColumn), []any{string(must.NotFail(sjson.MarshalSingleValue(v)))}
	default:
		return "", nil
	}
}
`,
  },
  {
    file: 'internal/handler/happyride_ordered.go',
    why: ORDERED_WHY,
    content: `// Added by Happyride Graph's local-servers build (local-servers/src/ferretdb-patches.ts).

package handler

import (
	"regexp"

	"github.com/FerretDB/FerretDB/internal/types"
)

// orderedKeysComment is the find comment with which a caller promises that, in the documents it
// reads, every field the sort names holds a string, and every field the filter names holds a
// string, null or nothing (no arrays, no other types), and that these strings hold no character
// JSON escapes and none below '#'. Under that promise SQLite's order of the fields' JSON text
// (_ferretdb_sjson->'f', which is '"' + the string + '"') is MongoDB's order of the strings, and
// comparing that text with the JSON text of a string is comparing the strings, so the backend may
// run the filter, the sort and the limit in SQL (see sqlite/happyride_ordered.go).
const orderedKeysComment = "happyride:ordered-keys"

// orderedMaxKeys bounds the sort keys pushed down.
const orderedMaxKeys = 3

// orderedField is a sort key that is safe to put in a SQLite JSON path as is.
var orderedField = regexp.MustCompile("^(_id|[A-Za-z][A-Za-z0-9_]*)$")

// orderedPushdown returns the sort and the limit that the backend may apply together with the
// filter (it does so only if it can push the whole filter down exactly), or nil and 0: when the
// caller made the promise of orderedKeysComment, nothing is skipped, a limit is set, no condition
// of the filter was held back from the backend (pushed has as many as filter), and the sort has
// 1 to orderedMaxKeys top-level fields, all in one direction. The handler still filters, sorts
// and limits what the backend returns.
func orderedPushdown(comment string, filter, pushed, sort *types.Document, skip, limit int64) (*types.Document, int64) {
	if comment != orderedKeysComment || skip != 0 || limit <= 0 || sort.Len() == 0 || sort.Len() > orderedMaxKeys {
		return nil, 0
	}

	if filter.Len() != pushed.Len() {
		return nil, 0
	}

	var direction int64

	for _, key := range sort.Keys() {
		if !orderedField.MatchString(key) {
			return nil, 0
		}

		v, _ := sort.Get(key)

		d, ok := v.(int64)
		if !ok || (d != 1 && d != -1) || (direction != 0 && d != direction) {
			return nil, 0
		}

		direction = d
	}

	return sort, limit
}

// explainComment returns the comment of an explained command, or "".
func explainComment(command *types.Document) string {
	v, _ := command.Get("comment")
	comment, _ := v.(string)

	return comment
}
`,
  },
  {
    file: 'internal/backends/sqlite/happyride_ordered.go',
    why: ORDERED_WHY,
    content: `// Added by Happyride Graph's local-servers build (local-servers/src/ferretdb-patches.ts).

package sqlite

import (
	"fmt"
	"strings"

	"github.com/FerretDB/FerretDB/internal/backends/sqlite/metadata"
	"github.com/FerretDB/FerretDB/internal/handler/sjson"
	"github.com/FerretDB/FerretDB/internal/types"
	"github.com/FerretDB/FerretDB/internal/util/must"
)

// orderedQuery returns " WHERE <filter> ORDER BY <sort> LIMIT ?" and its arguments when the handler
// passed a sort and a limit down (the caller's promise: handler/happyride_ordered.go) and the
// whole filter translates exactly (exactCondition), or false: then the query runs as FerretDB
// runs it. The sort is on the expressions FerretDB's indexes are built on
// (_ferretdb_sjson->'f'), so with an index on the filter's equality fields followed by the sort
// fields, SQLite walks that index in order and stops after limit rows.
func orderedQuery(filter, sort *types.Document, limit int64) (string, []any, bool) {
	if sort.Len() == 0 || limit <= 0 {
		return "", nil, false
	}

	where, args, ok := exactCondition(filter)
	if !ok {
		return "", nil, false
	}

	var q string
	if where != "" {
		q = " WHERE " + where
	}

	order := make([]string, 0, sort.Len())

	for _, key := range sort.Keys() {
		direction := ""
		if v, _ := sort.Get(key); v == int64(-1) {
			direction = " DESC"
		}

		order = append(order, orderedColumn(key)+direction)
	}

	q += " ORDER BY " + strings.Join(order, ", ") + " LIMIT ?"

	return q, append(args, limit), true
}

// orderedColumn is the expression of a top-level field: the one FerretDB's indexes use.
func orderedColumn(field string) string {
	if field == "_id" {
		return metadata.IDColumn
	}

	return fmt.Sprintf("%s->'%s'", metadata.DefaultColumn, field)
}

// exactCondition translates a filter into a SQL condition that matches exactly the documents
// it matches in MongoDB, under the caller's promise: every key is ANDed, and is either
//
//   - $and or $or: an array of such filters;
//   - a top-level field (pushableField, or _id) compared with a string: {f: s}, or
//     {f: {$eq | $lt | $lte | $gt | $gte: s, $in: [s, ...]}} (its operators ANDed).
//
// The empty filter is "" (everything). Anything else is false: no pushdown.
//
// The JSON text of a string starts with '"', and is below '#' under the promise; every other
// type's text starts with another character above '#' ('n'ull, a digit, '-', 't', 'f', '{', '['),
// or is NULL (missing). So "f < s" and "f <= s" hold only for strings (MongoDB's $lt and $lte
// compare strings with strings only), and "f > s" and "f >= s" get "AND f < '#'" for the same.
func exactCondition(filter *types.Document) (string, []any, bool) {
	var terms []string
	var args []any

	for _, key := range filter.Keys() {
		value := must.NotFail(filter.Get(key))

		var term string
		var termArgs []any
		var ok bool

		switch {
		case key == "$and" || key == "$or":
			term, termArgs, ok = exactBranches(value, strings.TrimPrefix(strings.ToUpper(key), "$"))
		case key == "_id" || pushableField.MatchString(key):
			term, termArgs, ok = exactFieldCondition(orderedColumn(key), value)
		}

		if !ok {
			return "", nil, false
		}

		terms = append(terms, term)
		args = append(args, termArgs...)
	}

	return strings.Join(terms, " AND "), args, true
}

// exactBranches translates the array of filters of $and or $or, joined by op.
func exactBranches(value any, op string) (string, []any, bool) {
	branches, ok := value.(*types.Array)
	if !ok || branches.Len() == 0 {
		return "", nil, false
	}

	terms := make([]string, 0, branches.Len())

	var args []any

	for i := 0; i < branches.Len(); i++ {
		branch, isDoc := must.NotFail(branches.Get(i)).(*types.Document)
		if !isDoc || branch.Len() == 0 {
			return "", nil, false
		}

		term, termArgs, ok := exactCondition(branch)
		if !ok {
			return "", nil, false
		}

		terms = append(terms, "("+term+")")
		args = append(args, termArgs...)
	}

	return "(" + strings.Join(terms, " "+op+" ") + ")", args, true
}

// exactComparisons maps MongoDB's comparison operators to SQL's.
var exactComparisons = map[string]string{"$eq": "=", "$lt": "<", "$lte": "<=", "$gt": ">", "$gte": ">="}

// exactFieldCondition translates the condition on one field (its expression: column).
func exactFieldCondition(column string, value any) (string, []any, bool) {
	if s, ok := value.(string); ok {
		return column + " = ?", []any{sjsonString(s)}, true
	}

	cond, ok := value.(*types.Document)
	if !ok || cond.Len() == 0 {
		return "", nil, false
	}

	terms := make([]string, 0, cond.Len())

	var args []any

	for _, op := range cond.Keys() {
		v := must.NotFail(cond.Get(op))

		if op == "$in" {
			in, ok := inArgs(must.NotFail(types.NewDocument(op, v)), isString)
			if !ok {
				return "", nil, false
			}

			terms = append(terms, fmt.Sprintf("%s IN (%s)", column, placeholders(len(in))))
			args = append(args, in...)

			continue
		}

		sqlOp, known := exactComparisons[op]

		s, isStr := v.(string)
		if !known || !isStr {
			return "", nil, false
		}

		term := fmt.Sprintf("%s %s ?", column, sqlOp)
		if op == "$gt" || op == "$gte" {
			term += fmt.Sprintf(" AND %s < '#'", column)
		}

		terms = append(terms, term)
		args = append(args, sjsonString(s))
	}

	return "(" + strings.Join(terms, " AND ") + ")", args, true
}

// sjsonString is the JSON text FerretDB stores for a string.
func sjsonString(s string) string {
	return string(must.NotFail(sjson.MarshalSingleValue(s)))
}
`,
  },
];

/** Applies one patch to a file's text; throws unless `find` occurs exactly once. */
export function applySourcePatch(source: string, patch: SourcePatch): string {
  const first = source.indexOf(patch.find);
  if (first === -1) {
    throw new Error(`FerretDB patch for ${patch.file}: expected text not found (${JSON.stringify(patch.find)}); has the FerretDB version changed?`);
  }
  if (source.indexOf(patch.find, first + patch.find.length) !== -1) {
    throw new Error(`FerretDB patch for ${patch.file}: expected text occurs more than once (${JSON.stringify(patch.find)})`);
  }
  return source.slice(0, first) + patch.replace + source.slice(first + patch.find.length);
}

/** What goes into the cache key of the built binary: a change of any patch rebuilds it. */
export function patchesFingerprint(patches: readonly SourcePatch[] = FERRETDB_PATCHES, additions: readonly SourceAddition[] = FERRETDB_ADDITIONS): string {
  return JSON.stringify([patches.map(({ file, find, replace }) => [file, find, replace]), additions.map(({ file, content }) => [file, content])]);
}

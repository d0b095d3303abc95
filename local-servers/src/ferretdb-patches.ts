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
    why: `${ID_IN_WHY} ${FIELD_WHY}`,
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

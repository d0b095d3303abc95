import { EARTH_RADIUS_KM, haversineKm, type Position } from '../geo.ts';

/** A driver found near a point, with the great-circle distance to it. */
export interface NearbyDriver {
  driverId: string;
  position: Position;
  distanceKm: number;
}

interface DriverEntry {
  online: boolean;
  /** The trip the driver is reserved for, if any: they are not available meanwhile. */
  activeTripId: string | undefined;
  position: Position | undefined;
  /** ISO instant of the position: an older reading never replaces a newer one. */
  at: string | undefined;
  /** The grid cell the driver is filed under while available; undefined otherwise. */
  cell: number | undefined;
}

const KM_PER_DEGREE = (Math.PI * EARTH_RADIUS_KM) / 180;

/**
 * The drivers who could take a trip now (online, not reserved for a trip, with a known
 * position), filed in a grid of equal-angle cells (`cellDegrees`, 0.02° ≈ 2.2 km of latitude
 * by default) so a search looks only at the cells around a point: cheap with 100k drivers.
 *
 * Pure and in memory: one per dispatch worker, fed from the driver events and the locations
 * (see the dispatch worker). Longitudes wrap at the antimeridian; near the poles a search
 * widens to every longitude.
 */
export class AvailableDriversIndex {
  readonly #cellDegrees: number;
  readonly #columns: number;
  readonly #rows: number;
  readonly #drivers = new Map<string, DriverEntry>();
  readonly #cells = new Map<number, Map<string, Position>>();

  constructor({ cellDegrees = 0.02 }: { cellDegrees?: number } = {}) {
    if (!(cellDegrees > 0 && cellDegrees <= 10)) throw new RangeError('cellDegrees must be in (0, 10].');
    this.#cellDegrees = cellDegrees;
    this.#columns = Math.ceil(360 / cellDegrees);
    this.#rows = Math.ceil(180 / cellDegrees) + 1;
  }

  /** How many drivers are available now. */
  get size(): number {
    let count = 0;
    for (const cell of this.#cells.values()) count += cell.size;
    return count;
  }

  isAvailable(driverId: string): boolean {
    return this.#drivers.get(driverId)?.cell !== undefined;
  }

  setOnline(driverId: string, online: boolean): void {
    this.#update(driverId, (entry) => (entry.online = online));
  }

  /** The driver is reserved for `tripId` (unavailable), or free again with `undefined`. */
  setActiveTrip(driverId: string, tripId: string | undefined): void {
    this.#update(driverId, (entry) => (entry.activeTripId = tripId));
  }

  /** A location reading; ignored when older than the one already known. */
  moveTo(driverId: string, position: Position, at?: string): void {
    this.#update(driverId, (entry) => {
      if (at !== undefined && entry.at !== undefined && at < entry.at) return;
      entry.position = { lng: position.lng, lat: position.lat };
      entry.at = at ?? entry.at;
    });
  }

  /**
   * The available drivers within `radiusKm` of `point` (boundary included), nearest first, at
   * most `limit` of them. Cells are visited nearest first and the search stops once the next
   * cell cannot hold anyone nearer than the `limit`-th found.
   */
  nearest(point: Position, radiusKm: number, limit = Infinity): NearbyDriver[] {
    if (!(radiusKm >= 0) || limit <= 0) return [];
    const cells = this.#cellsAround(point, radiusKm);
    const found: NearbyDriver[] = [];
    for (const { key, lowerBoundKm } of cells) {
      if (found.length >= limit && lowerBoundKm > found[found.length - 1]!.distanceKm) break;
      const cell = this.#cells.get(key);
      if (!cell) continue;
      for (const [driverId, position] of cell) {
        const distanceKm = haversineKm(point, position);
        if (distanceKm > radiusKm) continue;
        if (found.length >= limit && distanceKm >= found[found.length - 1]!.distanceKm) continue;
        insertSorted(found, { driverId, position, distanceKm });
        if (found.length > limit) found.pop();
      }
    }
    return found;
  }

  // ---- internals ------------------------------------------------------------------------------

  #update(driverId: string, change: (entry: DriverEntry) => void): void {
    const entry = this.#drivers.get(driverId) ?? { online: false, activeTripId: undefined, position: undefined, at: undefined, cell: undefined };
    change(entry);
    const available = entry.online && entry.activeTripId === undefined && entry.position !== undefined;
    if (entry.cell !== undefined) this.#cells.get(entry.cell)?.delete(driverId);
    if (entry.cell !== undefined && this.#cells.get(entry.cell)?.size === 0) this.#cells.delete(entry.cell);
    entry.cell = undefined;
    if (available) {
      entry.cell = this.#cellOf(entry.position!);
      let cell = this.#cells.get(entry.cell);
      if (!cell) this.#cells.set(entry.cell, (cell = new Map()));
      cell.set(driverId, entry.position!);
    }
    this.#drivers.set(driverId, entry);
  }

  #row(lat: number): number {
    return Math.min(this.#rows - 1, Math.max(0, Math.floor((lat + 90) / this.#cellDegrees)));
  }

  #column(lng: number): number {
    const wrapped = ((((lng + 180) % 360) + 360) % 360) / this.#cellDegrees;
    return Math.min(this.#columns - 1, Math.floor(wrapped));
  }

  #cellOf(position: Position): number {
    return this.#row(position.lat) * this.#columns + this.#column(position.lng);
  }

  /** The cells that may hold a point within `radiusKm`, with a lower bound of their distance, nearest first. */
  #cellsAround(point: Position, radiusKm: number): { key: number; lowerBoundKm: number }[] {
    const d = this.#cellDegrees;
    const latSpan = radiusKm / KM_PER_DEGREE;
    const minLat = Math.max(-90, point.lat - latSpan);
    const maxLat = Math.min(90, point.lat + latSpan);
    const widestCos = Math.cos((Math.max(Math.abs(minLat), Math.abs(maxLat)) * Math.PI) / 180);
    const lngSpan = widestCos <= 1e-9 ? 180 : radiusKm / (KM_PER_DEGREE * widestCos);
    const allLongitudes = lngSpan >= 180 || maxLat >= 90 || minLat <= -90;
    const firstRow = this.#row(minLat);
    const lastRow = this.#row(maxLat);
    const pointColumn = this.#column(point.lng);
    const reach = allLongitudes ? Math.floor(this.#columns / 2) : Math.ceil(lngSpan / d) + 1;
    const cells: { key: number; lowerBoundKm: number }[] = [];
    const seen = new Set<number>();
    for (let row = firstRow; row <= lastRow; row++) {
      const rowSouth = row * d - 90;
      const rowNorth = rowSouth + d;
      const nearestLat = Math.min(Math.max(point.lat, rowSouth), rowNorth);
      for (let offset = -reach; offset <= reach; offset++) {
        const column = (((pointColumn + offset) % this.#columns) + this.#columns) % this.#columns;
        const key = row * this.#columns + column;
        if (seen.has(key) || !this.#cells.has(key)) continue;
        seen.add(key);
        // The cell's nearest longitude to the point, across the antimeridian if shorter.
        const gapColumns = Math.max(0, Math.abs(offset) - 1);
        const nearestLng = point.lng + Math.sign(offset) * gapColumns * d;
        // A slight under-estimate (1 %), so pruning never skips a cell that holds someone nearer.
        const lowerBoundKm = offset === 0 ? haversineKm(point, { lng: point.lng, lat: nearestLat }) * 0.99 : haversineKm(point, { lng: nearestLng, lat: nearestLat }) * 0.99;
        cells.push({ key, lowerBoundKm });
      }
    }
    return cells.sort((a, b) => a.lowerBoundKm - b.lowerBoundKm);
  }
}

function insertSorted(found: NearbyDriver[], driver: NearbyDriver): void {
  let low = 0;
  let high = found.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (found[middle]!.distanceKm <= driver.distanceKm) low = middle + 1;
    else high = middle;
  }
  found.splice(low, 0, driver);
}

"""How big one person looks, learned from the scene, with perspective.

The configured ``person_width_px`` (along the counting line) and ``person_length_px``
(across it) are a guess the installer rarely measures; real cameras differ from it by a
factor of two either way, and an oblique camera sees people grow as they come closer. So the
pipeline measures the people it sees: every blob of the foreground (whole, before the
detector splits it) that holds a confirmed track, lies within ``band`` of the line and does
not touch the picture's edge gives its extent along and across the line and the signed
distance ``f`` of its centre from the line. Once ``MIN_SAMPLES`` samples from
``MIN_TRACKS`` different tracks are in, the size at distance ``f`` is a straight line fitted
through the medians of the samples in ``BINS`` slices of the band (perspective along the
line's normal), each a median over tracks of each track's own median (a pair that lingers as
one blob is one vote); the median is robust to the pairs and groups among them as long as
most tracks are one person. Until then, and for a zone, the configured sizes are used. A
blob holding several tracks is one vote too (under the smallest track id): when the
configured size is too small the detector cuts one person in two, and only their whole blob
can teach the true size. Once learned, a blob holds several people past
``detection.LEARNED_SPLIT`` times the size (half-way to two: the learned size is a whole
blob's, arms and all).
"""

from __future__ import annotations

import numpy as np

from edge.camera.vision.config import VisionParams
from edge.camera.vision.geometry import CountingGeometry

MIN_SAMPLES = 40
MIN_TRACKS = 6
MAX_SAMPLES = 3000
"""The latest samples only: a scene's people change over the day (coats, bags)."""
REFIT_EVERY = 20
BINS = 6
MIN_BIN = 10
"""Samples a slice of the band needs to take part in the fit."""
LIMITS = (0.25, 4.0)
"""A learned size stays within these factors of the configured one (a sanity bound)."""


class PersonSize:
    """One person's (width along the line, length across it) in counting-frame pixels."""

    def __init__(self, params: VisionParams, geometry: CountingGeometry) -> None:
        self.configured = (params.person_width_px, params.person_length_px)
        self.geometry = geometry
        self.band = 2.0 * max(params.person_length_px, params.person_width_px)
        """Samples are taken this far (px) from the line on either side."""
        # rows f, along, across, track id: a ring of the latest MAX_SAMPLES (their order
        # does not matter, every statistic is a median)
        self._samples = np.empty((MAX_SAMPLES, 4), np.float64)
        self._count = 0
        self._tracks: set[int] = set()
        self._new = 0
        self._fit: np.ndarray | None = None  # rows width, length: (slope, intercept)
        self._lines: tuple[tuple[float, float], ...] = ()  # the same, as Python floats

    @property
    def learned(self) -> bool:
        """Whether the sizes come from the scene."""
        return self._fit is not None

    def distance(self, point: tuple[float, float]) -> float | None:
        """Signed distance of ``point`` from the line's straight extension (None: zone)."""
        if not self.geometry.is_line:
            return None
        (ax, ay) = self.geometry.spec.line.a if self.geometry.spec.line else (0.0, 0.0)
        nx, ny = self.geometry.in_normal()
        return (point[0] - ax) * nx + (point[1] - ay) * ny

    def at(self, point: tuple[float, float]) -> tuple[float, float]:
        """Width along and length across the line of a person at ``point``."""
        if self._fit is None:
            return self.configured
        f = self.distance(point)
        return self._size(0.0 if f is None else f)

    def at_line(self) -> tuple[float, float]:
        """The size on the line itself."""
        return self._size(0.0) if self._fit is not None else self.configured

    def observe(self, point: tuple[float, float], along: float, across: float,
                track_id: int) -> None:
        """One whole blob holding a confirmed track: its centre and extents."""
        f = self.distance(point)
        if f is None or abs(f) > self.band:
            return
        self._samples[self._count % MAX_SAMPLES] = (f, along, across, track_id)
        self._count += 1
        self._tracks.add(track_id)
        self._new += 1
        if (self._new >= REFIT_EVERY and min(self._count, MAX_SAMPLES) >= MIN_SAMPLES
                and len(self._tracks) >= MIN_TRACKS):
            self._new = 0
            self._refit()

    def _size(self, f: float) -> tuple[float, float]:
        assert self._fit is not None
        f = min(max(f, -self.band), self.band)
        (w_slope, w_intercept), (l_slope, l_intercept) = self._lines
        width, length = w_slope * f + w_intercept, l_slope * f + l_intercept
        return (self._bounded(width, self.configured[0]),
                self._bounded(length, self.configured[1]))

    def _bounded(self, value: float, configured: float) -> float:
        return min(max(value, LIMITS[0] * configured), LIMITS[1] * configured)

    def _refit(self) -> None:
        data = self._samples[:min(self._count, MAX_SAMPLES)]
        edges = np.linspace(-self.band, self.band, BINS + 1)
        which = np.clip(np.digitize(data[:, 0], edges) - 1, 0, BINS - 1)
        sizes = np.bincount(which, minlength=BINS)
        used = np.flatnonzero(sizes >= MIN_BIN)
        if not len(used):
            return
        ranks = _ranks(data)
        # per slice of the band: the median over its tracks of each track's medians
        each, keys = _per_track(data, which, ranks)
        slices = _grouped_median(each, keys[:, 0])  # one row per non-empty slice, ascending
        present = np.flatnonzero(sizes)
        table = np.column_stack([slices[np.searchsorted(present, used)],
                                 sizes[used].astype(np.float64)])
        overall = _per_person(data, ranks)
        fit = np.zeros((2, 2))
        for column in (1, 2):
            if len(table) >= 2 and np.ptp(table[:, 0]) > 0:
                weights = np.sqrt(table[:, 3])
                slope = float(np.polyfit(table[:, 0], table[:, column], 1, w=weights)[0])
                # perspective, not noise: within the band a person at most doubles in size
                limit = overall[column] / self.band / 2
                slope = float(np.clip(slope, -limit, limit))
                intercept = float(np.average(table[:, column] - slope * table[:, 0],
                                             weights=weights))
            else:
                slope, intercept = 0.0, overall[column]
            fit[column - 1] = (slope, intercept)
        self._fit = fit
        self._lines = tuple((float(slope), float(intercept)) for slope, intercept in fit)


def _per_person(samples: np.ndarray, ranks: np.ndarray | None = None
                ) -> tuple[float, float, float]:
    """Median (f, along, across) over tracks of each track's medians: a pair that lingers
    in view as one blob is one vote, not hundreds of samples."""
    each, _ = _per_track(samples, np.zeros(len(samples), np.int64),
                         _ranks(samples) if ranks is None else ranks)
    f, along, across = np.median(each, axis=0)
    return float(f), float(along), float(across)


def _ranks(samples: np.ndarray) -> np.ndarray:
    """Each sample's rank by f, along and across (columns): sorted once, shared by every
    grouping of the same samples."""
    ranks = np.empty((len(samples), 3), np.int64)
    for column in range(3):
        ranks[np.argsort(samples[:, column]), column] = np.arange(len(samples))
    return ranks


def _per_track(samples: np.ndarray, groups: np.ndarray, ranks: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """Each (group, track)'s median (f, along, across), and its (group, track), in
    ascending order. ``groups``: whole numbers; ``ranks``: from :func:`_ranks`."""
    tracks = samples[:, 3].astype(np.int64)
    key = groups.astype(np.int64) * (int(tracks.max()) + 1) + tracks
    sorted_key = np.sort(key)
    # where each (group, track) run begins: the same for every column, whose sort orders
    # differ only within a run
    starts = np.flatnonzero(np.r_[True, sorted_key[1:] != sorted_key[:-1]])
    columns = []
    for column in range(3):
        # (group, track), then the value: one integer sort key
        order = np.argsort(key * len(samples) + ranks[:, column])
        columns.append(_middle(samples[order, column], starts))
    first = order[starts]
    keys = np.column_stack([groups[first].astype(np.float64), samples[first, 3]])
    return np.column_stack(columns), keys


def _grouped_median(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """The median of each column of ``values`` within each group (rows of equal ``groups``
    value), groups in ascending order: ``np.median`` per group without a Python loop."""
    order = np.argsort(groups, kind="stable")
    keys = groups[order]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    ordered = values[order]
    ends = np.r_[starts[1:], len(keys)]
    out = np.empty((len(starts), values.shape[1]))
    for column in range(values.shape[1]):
        by_value = np.lexsort((ordered[:, column], keys))
        out[:, column] = _middle(ordered[by_value, column], starts, ends)
    return out


def _middle(ordered: np.ndarray, starts: np.ndarray, ends: np.ndarray | None = None
            ) -> np.ndarray:
    """The median of each run ``ordered[starts[i]:ends[i]]`` (each run sorted)."""
    if ends is None:
        ends = np.r_[starts[1:], len(ordered)]
    sizes = ends - starts
    middle: np.ndarray = (ordered[starts + (sizes - 1) // 2] + ordered[starts + sizes // 2]) / 2
    return middle

"""Scaling study: how a variant's time grows with rows (fixed + per-row cost, least squares),
its projection to sizes not measured, and the size at which one variant overtakes another.

The model is a straight line, seconds = fixed + per_row x rows, fitted by ordinary least
squares over the measured sizes. Its limits are reported, not hidden: with one size all of
the time is counted per row (fixed 0) and the fit is flagged; a negative fixed cost, which no
machine has, is refitted through the origin and flagged; a time that does not grow with rows
by more than the scatter around the line (a fixed cost of tens of seconds measured at sizes
where the per-row work is a second) is flagged as an unresolved per-row cost (a negative
slope is refitted as a fixed cost only), and crossovers read off such a line say so; every
figure the line gives for a size that was not measured is marked projected.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

PROJECTION_ROWS = (400_000, 40_000_000)


@dataclass(frozen=True)
class Residual:
    rows: float
    seconds: float  # measured
    fitted: float

    @property
    def relative(self) -> float:
        return (self.fitted - self.seconds) / self.seconds if self.seconds else 0.0


@dataclass
class LinearFit:
    """seconds = fixed_s + per_row_s x rows, with the residual of every point it was fitted on."""

    fixed_s: float
    per_row_s: float
    residuals: list[Residual]
    single_size: bool = False  # one distinct size: all time per row, fixed 0
    clamped: bool = False  # least squares gave a negative fixed cost: refitted through 0
    flat: bool = False  # least squares gave a negative per-row cost: refitted as fixed only

    def seconds(self, rows: float) -> float:
        return self.fixed_s + self.per_row_s * rows

    @property
    def sizes(self) -> list[float]:
        return sorted({r.rows for r in self.residuals})

    @property
    def max_error(self) -> float | None:
        """Largest relative residual; None when the line passes through every point by
        construction (no more points than parameters)."""
        params = 1 if self.single_size or self.clamped or self.flat else 2
        if len(self.residuals) <= params:
            return None
        return max(abs(r.relative) for r in self.residuals)

    @property
    def growth_s(self) -> float:
        """How much the line grows over the sizes it was fitted on, in seconds."""
        sizes = self.sizes
        return self.per_row_s * (sizes[-1] - sizes[0])

    @property
    def scatter_s(self) -> float:
        """The largest distance of a point from the line, in seconds."""
        return max(abs(r.fitted - r.seconds) for r in self.residuals)

    @property
    def per_row_resolved(self) -> bool:
        """False when the time grew with rows by less than twice the scatter around the
        line, or fell (a flat fit): the per-row cost is then within run-to-run noise.
        Otherwise True on two sizes, whose line has no scatter to judge by, and on one
        size, flagged apart."""
        if self.flat:
            return False
        return self.single_size or self.growth_s > 2 * self.scatter_s

    @property
    def flags(self) -> list[str]:
        notes = []
        if self.single_size:
            notes.append("one size measured: all time counted per row, fixed cost 0")
        if self.clamped:
            notes.append("least squares gave a negative fixed cost: refitted with fixed 0")
        if self.flat:
            notes.append("time fell as rows grew (noise larger than the per-row cost): "
                         "fitted as a fixed cost only, per-row cost unresolved")
        elif not self.per_row_resolved:
            notes.append(f"time grew by {self.growth_s:.2g} s over the sizes measured, less "
                         f"than twice the scatter around the line ({self.scatter_s:.2g} s): "
                         "per-row cost unresolved, projections uncertain")
        return notes

    def to_json(self) -> dict:
        return {
            "fixed_s": self.fixed_s, "per_row_us": self.per_row_s * 1e6,
            "sizes": self.sizes, "max_error": self.max_error, "flags": self.flags,
            "residuals": [{"rows": r.rows, "seconds": r.seconds, "fitted": r.fitted,
                           "relative": r.relative} for r in self.residuals],
        }


def fit_line(points: Iterable[tuple[float, float]]) -> LinearFit:
    """Least squares of seconds = fixed + per_row x rows over (rows, seconds) points."""
    pts = [(float(x), float(y)) for x, y in points]
    if not pts:
        raise ValueError("fit_line needs at least one (rows, seconds) point")
    xs, ys = [x for x, _ in pts], [y for _, y in pts]
    single = len({round(x) for x in xs}) < 2
    clamped = flat = False
    if single:
        fixed, slope = 0.0, sum(ys) / sum(xs)
    else:
        mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
        slope = sum((x - mx) * (y - my) for x, y in pts) / sum((x - mx) ** 2 for x in xs)
        fixed = my - slope * mx
        if slope < 0:
            fixed, slope, flat = my, 0.0, True
        elif fixed < 0:
            fixed, slope, clamped = 0.0, sum(x * y for x, y in pts) / sum(x * x for x in xs), True
    residuals = [Residual(x, y, fixed + slope * x) for x, y in pts]
    return LinearFit(fixed, slope, residuals, single, clamped, flat)


@dataclass(frozen=True)
class Projection:
    rows: int
    seconds: float
    projected: bool  # False: measured at this size (the measured figure is given)

    def to_json(self) -> dict:
        return {"rows": self.rows, "seconds": self.seconds, "projected": self.projected}


def project(model: LinearFit, rows: Iterable[int],
            measured: dict[int, float] | None = None) -> list[Projection]:
    """The line's figure at each size, marked projected unless that size was measured."""
    measured = measured or {}
    return [Projection(n, measured[n], False) if n in measured
            else Projection(n, model.seconds(n), True) for n in rows]


@dataclass
class Crossover:
    """Where `challenger` overtakes `incumbent`, read off their two fitted lines."""

    challenger: str
    incumbent: str
    status: str  # overtakes | already-faster | never | falls-behind
    rows: float | None  # where the lines cross, when they cross at a positive size
    measured_range: tuple[float, float]  # the sizes both were measured at (min, max)
    measure: str = "total"
    costs: dict[str, tuple[float, float]] = field(default_factory=dict)  # name: (fixed, per-row)
    single_size: list[str] = field(default_factory=list)  # fits with no fixed cost to compare
    unresolved: list[str] = field(default_factory=list)  # fits whose per-row cost is noise
    sampled: list[str] = field(default_factory=list)  # fits on projected figures only

    @property
    def projected(self) -> bool:
        """A crossing outside the measured sizes is an extrapolation of both lines."""
        lo, hi = self.measured_range
        return self.rows is not None and not lo <= self.rows <= hi

    def sentence(self) -> str:
        caveat = "".join(f" Caveat: {name} was measured at one size only, so its fixed cost "
                         "is taken as 0." for name in self.single_size)
        caveat += "".join(f" Caveat: {name}'s time grew with rows by less than its run-to-run "
                          "scatter at the sizes measured, so its per-row cost, and this "
                          "crossing, are uncertain." for name in self.unresolved)
        caveat += "".join(f" Caveat: {name}'s figures are projected (from a sample), not "
                          "measured." for name in self.sampled)
        return self._sentence() + caveat

    def _sentence(self) -> str:
        a, b = self.challenger, self.incumbent
        what = "" if self.measure == "total" else f" ({self.measure})"
        lo, hi = self.measured_range
        if self.rows is not None and self.rows > hi:
            where = f"projected: beyond the largest size measured, {hi:,.0f} rows"
        elif self.rows is not None and self.rows < lo:
            where = f"projected: below the smallest size measured, {lo:,.0f} rows"
        else:
            where = "within the measured sizes"
        if self.status == "overtakes":
            return (f"{a} overtakes {b}{what} at about {self.rows:,.0f} rows ({where}).")
        if self.status == "already-faster":
            tail = ""
            if self.rows is not None and self.rows < lo:
                tail = f"; the fitted lines cross at about {self.rows:,.0f} rows"
            elif self.rows is not None:
                tail = (f"; {b} is projected to overtake it at about {self.rows:,.0f} rows")
            return f"{a} is already faster than {b}{what} at every measured size{tail}."
        if self.status == "falls-behind":
            return (f"{a} is faster than {b}{what} only up to about {self.rows:,.0f} rows; "
                    f"beyond that {b} is faster ({where}).")
        (fa, pa), (fb, pb) = self.costs[a], self.costs[b]
        return (f"{a} does not overtake {b}{what} at any size on this machine: it costs "
                f"{'more' if fa > fb else 'as much'} up front ({fa:,.3g} s vs {fb:,.3g} s) "
                f"and {'more' if pa > pb else 'as much'} per row "
                f"({pa * 1e6:,.3g} µs vs {pb * 1e6:,.3g} µs).")

    def to_json(self) -> dict:
        return {"challenger": self.challenger, "incumbent": self.incumbent,
                "measure": self.measure, "status": self.status, "rows": self.rows,
                "projected": self.projected, "sentence": self.sentence()}


def crossover(challenger: str, a: LinearFit, incumbent: str, b: LinearFit,
              measure: str = "total", sampled: Sequence[str] = ()) -> Crossover:
    """Rows where a's line drops below b's: (F_a - F_b) / (p_b - p_a) when positive."""
    sizes = [*a.sizes, *b.sizes]
    span = (min(sizes), max(sizes))
    d_fixed, d_per_row = a.fixed_s - b.fixed_s, b.per_row_s - a.per_row_s
    rows = d_fixed / d_per_row if d_per_row else None
    if rows is not None and rows <= 0:
        rows = None
    if d_per_row > 0:  # a is cheaper per row: it wins from `rows` on
        status = "overtakes" if rows is not None and rows > span[0] else "already-faster"
    elif rows is not None:  # a is cheaper up front and dearer per row: b catches up
        status = "already-faster" if rows >= span[1] else "falls-behind"
    else:
        status = "already-faster" if d_per_row == 0 and d_fixed < 0 else "never"
    costs = {challenger: (a.fixed_s, a.per_row_s), incumbent: (b.fixed_s, b.per_row_s)}
    single = [name for name, f in ((challenger, a), (incumbent, b)) if f.single_size]
    unresolved = [name for name, f in ((challenger, a), (incumbent, b))
                  if not f.per_row_resolved]
    return Crossover(challenger, incumbent, status, rows, span, measure, costs, single,
                     unresolved, list(sampled))


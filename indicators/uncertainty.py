"""Uncertainty and sensitivity analysis of the readiness index (Monte Carlo over method choices).

Follows the practice of the OECD/JRC *Handbook on Constructing Composite Indicators* (2008,
ch. 1.7 and 2.7): the choices made when building the index are treated as uncertain inputs,
the index is recomputed many times with randomly drawn choices, and the spread of each town's
rank shows how much the published rank depends on those choices (uncertainty analysis); the
share of rank variance each choice explains shows which choice matters most (sensitivity
analysis). Plain numpy/pandas, no Dagster; everything is a pure function of its arguments and
the seed. Every draw is scored by :mod:`indicators.engine`, the same engine that computes the
published index: the published configuration is the draw with the catalogue's choices.

Uncertain inputs, drawn independently in every draw
----------------------------------------------------
Which options the pipeline samples is set in the catalogue (``uncertainty``, read by
:func:`catalogue_settings`); docs/methodology.md section 6.1 says why each sampled alternative is
defended and why the others are implemented but not sampled.

1. **weights** – the indicator weights within each pillar and the pillar weights. With
   ``weight_spread`` (catalogue: 0.25) each positive weight is drawn uniformly within
   ``w * (1 +- spread)`` and the set renormalised to sum to one (JRC COIN practice). Without it, each
   set is drawn from a Dirichlet distribution centred on the catalogue weights,
   ``alpha_j = concentration * w_j / sum(w)`` (``concentration = 10`` by default: equal weights give
   1/3 ± 0.14 for three indicators, 1/2 ± 0.15 for two, pillars 1/4 ± 0.13). A pillar with one
   indicator keeps weight 1; an indicator or pillar with catalogue weight 0 keeps 0.
   ``concentration=None`` (and no spread) fixes the weights at the (normalised) catalogue weights.
2. **normalisation** – ``goalposts`` (the published fixed goalposts, clipped to 0..100),
   ``percentile-goalposts`` (goalposts at the 5th and 95th percentile of the reference-group values
   of that period, clipped; the full range when the two coincide), ``min-max`` (``(x - min) / (max -
   min) * 100`` with min and max over the reference-group towns with a value in that period; 50 for
   every town when max == min), or ``rank-percentile`` (``(r - 1) / (n - 1) * 100`` with r the average
   rank of the value among the n reference-group values of that period, 1 = lowest; 50 when n == 1),
   or ``z-score`` (values winsorised at the 5th/95th percentile as for ``percentile-goalposts``,
   then standardised over the reference group of the period and rescaled to mean 50, sd 10, so
   they stay positive for the geometric means).
   All are reversed (``100 - x``) for direction ``negative``.
3. **imputation** – ``carry-forward`` (imputed rows used as published), ``nearest`` (a missing
   value is taken from the town's nearest observed period, earlier *or later*, within the
   indicator's ``carry_forward_years``; ties go to the earlier one) or ``none`` (rows with
   ``imputed`` true are dropped; a pillar then averages its remaining indicators, and a town whose
   required pillar loses all its indicators is not scored in that draw). Under ``none`` the
   data-driven normalisations refer to the remaining observed values.
   With the current sources every index period has a required pillar that exists only as
   imputed values, so ``none`` scores no town; the pipeline samples ``carry-forward`` and
   ``nearest``.
4. **aggregation** – ``arithmetic`` (both levels), ``geometric`` (both levels) or
   ``geometric-pillars`` (arithmetic within a pillar, geometric across pillars), with the semantics
   of :func:`indicators.index.aggregate`: weights renormalised over the present components,
   geometric scores floored at 0.01.

The discrete options are drawn with equal probability; ``choices`` restricts them (a choice with a
single allowed option is fixed). As in :func:`indicators.index.readiness_index` (one engine),
values with an ``excluded_reason`` (e.g. a territorial change) and context indicators are never used, a town
needs every required pillar for a score while optional pillars count where present, and ranks
(1 = best, ties at the score's published precision share the lowest rank, ``min``) compare the scored
reference-group towns of the period. Only reference-group towns enter the computation (they alone are ranked,
and they are the set min-max and percentiles refer to).

Outputs
-------
``bands`` – one row per (ags, period) of a reference-group town ranked in the published configuration and
scored in at least one draw (draws still rank every town they score, so those towns shift the others' ranks):
``ags, period, rank_published, score_published, rank_median, rank_p05, rank_p95, score_median,
score_p05, score_p95, draws_scored, compared_towns_median``. Percentiles are taken over the draws
in which the town is scored (numpy's default linear interpolation, so a percentile may be
fractional); ``compared_towns_median`` is the median, over the same draws, of the number of
ranked towns of the period. ``rank_published`` / ``score_published`` are the rank and score under
the published configuration (catalogue weights, goalposts, carry-forward, the catalogue's
aggregation), computed by the same engine call as :func:`indicators.index.readiness_index`. Scores of
different normalisations are on different scales, so the score quantiles are taken over the draws
that keep the published goalposts (the scale the score is published on; all draws only when no
draw does); rank quantiles are taken over all draws.

``sensitivity`` – one row per (choice, option): ``choice, option, draws, scored_share,
mean_abs_rank_shift, first_order``.

- ``choice`` is ``normalisation``, ``imputation``, ``aggregation``, ``pillar_weight:<pillar>``
  (every pillar) or ``indicator_weight:<indicator>`` (indicators of pillars with at least two
  weighted indicators). A weight is continuous; its options are the ``weight_bins`` (default 3)
  quantile bins of the drawn weight over all draws (``low``, ``mid``, ``high`` with the weight
  range in the label), or a single option ``fixed`` when the weight does not vary.
- ``draws`` – number of draws that used the option.
- ``scored_share`` – of the (town, period) pairs ranked in the published configuration, the share
  still ranked in the draws using the option (pairs x draws). Below 1 when the option leaves towns
  without a required pillar (``imputation = none`` where a pillar exists only as carried-forward
  values); such draws cannot enter the rank statistics, so this column is where that effect shows.
- ``mean_abs_rank_shift`` – mean of ``|rank_draw - rank_published|`` over all (town, period,
  draw) with the draw using the option and the town ranked both in the draw and in the published
  configuration.
- ``first_order`` – first-order effect of the choice on the rank (same value on every row of a
  choice): for each (town, period) with ranks ``R_d`` over its N scored draws, mean ``m`` and
  total variance ``V = mean_d (R_d - m)^2``, the conditional means ``m_o`` over the ``n_o`` draws
  using option o give ``V_o = sum_o (n_o / N) (m_o - m)^2`` (variance of the conditional
  means); ``first_order`` is the mean of ``V_o / V`` over the (town, period) pairs with ``V > 0``
  (0 when no pair varies). Only the draws in which the town is ranked count, so an option under
  which no town is ranked contributes nothing here (see ``scored_share``).
  By the law of total variance it lies in [0, 1]. It is the given-data estimate of the first-order
  Sobol index ``Var(E[rank | choice]) / Var(rank)``; for weights it is the binned (scatterplot
  smoothing) estimate of Paruolo, Saisana & Saltelli (2013). With N draws it carries a positive
  sampling bias of about ``(k - 1) / N`` for k options, so values below ~0.01 at 1,000 draws
  mean "no detectable effect". The weight choices are correlated (Dirichlet components sum to
  one), so first-order effects need not add up to 1.

Vectorisation: per period a towns x indicators matrix per (normalisation, imputation) variant;
draws sharing a (normalisation, imputation, aggregation) combination are computed together as
towns x draws matrices, so the Python loop runs over periods x combinations, not over draws.
Memory: everything after the published configuration is taken one period at a time (rows of
different periods never meet: quantiles, moments and option totals are per row, and ranks compare
towns within a period), so only towns x draws matrices are held, not periods x towns x draws.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from indicators import engine
from indicators.catalogue import Catalogue
# The scoring itself is indicators/engine.py, shared with the published index.
from indicators.engine import rank_published

DEFAULT_CONCENTRATION = 10.0
CHOICES: dict[str, tuple[str, ...]] = {
    "normalisation": engine.NORMALISATIONS,
    "imputation": engine.IMPUTATIONS,
    "aggregation": tuple(engine.AGGREGATION_LEVELS),
}
QUANTILES = (0.5, 0.05, 0.95)
BAND_COLUMNS = ["ags", "period", "rank_published", "score_published", "rank_median", "rank_p05", "rank_p95",
                "score_median", "score_p05", "score_p95", "draws_scored", "compared_towns_median"]
SENSITIVITY_COLUMNS = ["choice", "option", "draws", "scored_share", "mean_abs_rank_shift", "first_order"]
# One draw is one engine.Method: weights (each set summing to one) and the three discrete choices.
Configuration = engine.Method


def published_choices(catalogue: Catalogue) -> dict[str, tuple[str, ...]]:
    """``choices`` that allow only the published configuration (goalposts, carry-forward, catalogue aggregation)."""
    return {"normalisation": ("goalposts",), "imputation": ("carry-forward",), "aggregation": (catalogue.aggregation,)}


def _check_choices(choices: Mapping[str, Sequence[str]] | None) -> dict[str, tuple[str, ...]]:
    allowed = dict(CHOICES)
    for choice, options in (choices or {}).items():
        if choice not in CHOICES:
            raise ValueError(f"unknown choice {choice!r}; one of {sorted(CHOICES)}")
        options = tuple(options)
        unknown = set(options) - set(CHOICES[choice])
        if not options or unknown:
            raise ValueError(f"options {options!r} for {choice!r} must be a non-empty subset of {CHOICES[choice]}")
        allowed[choice] = options
    return allowed


def dirichlet_weights(rng: np.random.Generator, weights: Sequence[float],
                      concentration: float | None = DEFAULT_CONCENTRATION) -> np.ndarray:
    """Weights drawn from Dirichlet(concentration * w / sum(w)); they sum to one.

    Components with weight 0 stay 0; a single positive component gets 1 (no draw is taken).
    ``concentration=None`` returns the normalised weights unchanged.
    """
    w = np.asarray(weights, dtype=float)
    if (w < 0).any() or w.sum() <= 0:
        raise ValueError(f"weights {list(w)} must be non-negative with a positive sum")
    centre = w / w.sum()
    positive = centre > 0
    if concentration is None or positive.sum() < 2:
        return centre
    drawn = np.zeros_like(centre)
    drawn[positive] = rng.dirichlet(concentration * centre[positive])
    return drawn / drawn.sum()


def uniform_weights(rng: np.random.Generator, weights: Sequence[float], spread: float) -> np.ndarray:
    """Each weight drawn uniformly within +-``spread`` (a fraction) of its catalogue value, then the set
    renormalised to sum to one (the JRC COIN practice, e.g. COINr ``get_noisy_weights``, NoiseFactor 0.25).

    Components with weight 0 stay 0; a single positive component gets 1 (no draw is taken).
    """
    w = np.asarray(weights, dtype=float)
    if (w < 0).any() or w.sum() <= 0:
        raise ValueError(f"weights {list(w)} must be non-negative with a positive sum")
    if not 0 <= spread < 1:
        raise ValueError(f"weight spread {spread} must be in [0, 1)")
    positive = w > 0
    if positive.sum() < 2:
        return w / w.sum()
    drawn = np.zeros_like(w)
    drawn[positive] = w[positive] * rng.uniform(1 - spread, 1 + spread, size=int(positive.sum()))
    return drawn / drawn.sum()


def _draw_weights(rng: np.random.Generator, weights: Sequence[float], concentration: float | None,
                  weight_spread: float | None) -> np.ndarray:
    """Uniform +-weight_spread when given, else Dirichlet(concentration) (None: the catalogue weights)."""
    if weight_spread is not None:
        return uniform_weights(rng, weights, weight_spread)
    return dirichlet_weights(rng, weights, concentration)


def sample_configuration(rng: np.random.Generator, catalogue: Catalogue,
                         concentration: float | None = DEFAULT_CONCENTRATION,
                         choices: Mapping[str, Sequence[str]] | None = None,
                         weight_spread: float | None = None) -> Configuration:
    """Draw one configuration: weights per pillar and for the pillars, then each discrete choice uniformly.

    Weights are uniform within +-``weight_spread`` of the catalogue weights when it is given,
    otherwise Dirichlet with ``concentration``. The order of random numbers taken from ``rng`` is
    fixed (pillars in catalogue order, then pillar weights, then normalisation, imputation,
    aggregation), so one seed gives one sequence of draws.
    """
    allowed = _check_choices(choices)
    indicator_weights: dict[str, float] = {}
    for pillar in catalogue.pillars:
        members = catalogue.in_pillar(pillar)
        if not members:
            continue
        if sum(float(i.weight) for i in members) <= 0:
            raise ValueError(f"pillar {pillar!r} has no indicator with a positive weight")
        drawn = _draw_weights(rng, [float(i.weight) for i in members], concentration, weight_spread)
        indicator_weights.update({i.indicator_id: float(w) for i, w in zip(members, drawn)})
    pillars = list(catalogue.pillars)
    drawn = _draw_weights(rng, [float(catalogue.pillars[p]["weight"]) for p in pillars], concentration, weight_spread)
    picked = {choice: options[int(rng.integers(len(options)))] for choice, options in allowed.items()}
    return Configuration(indicator_weights, dict(zip(pillars, map(float, drawn))), **picked)


def sample_configurations(catalogue: Catalogue, draws: int, seed: int | None = None,
                          concentration: float | None = DEFAULT_CONCENTRATION,
                          choices: Mapping[str, Sequence[str]] | None = None,
                          weight_spread: float | None = None) -> list[Configuration]:
    """The ``draws`` configurations :func:`monte_carlo` uses for this seed (one generator, drawn in sequence; no
    seed: the catalogue's)."""
    rng = np.random.default_rng(_drawn(catalogue)["seed"] if seed is None else seed)
    return [sample_configuration(rng, catalogue, concentration, choices, weight_spread) for _ in range(draws)]


def catalogue_settings(catalogue: Catalogue) -> dict:
    """Keyword arguments of :func:`monte_carlo` from the catalogue's ``uncertainty`` section: draws, seed,
    the sampled options of each discrete choice and the weight distribution (``weights: {method:
    uniform, spread: 0.25}`` or ``{method: dirichlet, concentration: 10}``). The pipeline and the
    benchmark both use this, so they sample the same alternatives."""
    config = catalogue.uncertainty
    drawn = _drawn(catalogue)
    weights = config.get("weights", {"method": "dirichlet", "concentration": DEFAULT_CONCENTRATION})
    if weights.get("method") not in ("uniform", "dirichlet"):
        raise ValueError(f"uncertainty.weights.method {weights.get('method')!r} must be 'uniform' or 'dirichlet'")
    choices = {choice: tuple(config[choice]) for choice in CHOICES if choice in config}
    _check_choices(choices)
    return {**drawn, "choices": choices,
            "concentration": float(weights.get("concentration", DEFAULT_CONCENTRATION)),
            "weight_spread": float(weights["spread"]) if weights["method"] == "uniform" else None}


def _drawn(catalogue: Catalogue) -> dict[str, int]:
    """The catalogue's ``uncertainty`` draws and seed, the one place they are set; ValueError when either is missing
    or not a whole number (draws at least 1)."""
    config = catalogue.uncertainty
    values = {key: config.get(key) for key in ("draws", "seed")}
    if any(type(v) is not int for v in values.values()) or values["draws"] < 1:
        raise ValueError(f"catalogue uncertainty: draws (at least 1) and seed must be whole numbers, got {values}")
    return values


QUANTILE_BLOCK_ROWS = 4096  # rows sorted at a time: 4,096 x 1,000 draws = 31 MiB instead of a copy of the matrix


def masked_quantiles(matrix: np.ndarray, quantiles: Iterable[float]) -> tuple[np.ndarray, np.ndarray]:
    """Quantiles of every row over its non-NaN entries (linear interpolation, as numpy's default).

    Returns (rows x quantiles, count of non-NaN per row); rows without a value give NaN. Rows are
    independent, so they are taken in blocks: the sorted copy of a full-Germany matrix (66,000 rows x
    1,000 draws) would take another 0.5 GiB at once.
    """
    quantiles = tuple(quantiles)
    if len(matrix) <= QUANTILE_BLOCK_ROWS:
        return _block_quantiles(matrix, quantiles)
    blocks = [_block_quantiles(matrix[start:start + QUANTILE_BLOCK_ROWS], quantiles)
              for start in range(0, len(matrix), QUANTILE_BLOCK_ROWS)]
    return np.concatenate([out for out, _ in blocks]), np.concatenate([count for _, count in blocks])


def _block_quantiles(matrix: np.ndarray, quantiles: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
    """``masked_quantiles`` of one block of rows."""
    ordered = np.sort(matrix, axis=1)  # NaN sorts last
    count = (~np.isnan(matrix)).sum(axis=1)
    out = np.full((matrix.shape[0], len(quantiles)), np.nan)
    has = count > 0
    for q_i, q in enumerate(quantiles):
        position = q * (np.maximum(count, 1) - 1)
        lower = np.floor(position).astype(int)
        upper = np.minimum(lower + 1, np.maximum(count - 1, 0))
        low_val = np.take_along_axis(ordered, lower[:, None], axis=1)[:, 0]
        up_val = np.take_along_axis(ordered, upper[:, None], axis=1)[:, 0]
        value = low_val + (up_val - low_val) * (position - lower)
        out[has, q_i] = value[has]
    return out, count


@dataclass
class _RankMoments:
    """Per (town, period) row, over the draws ranking the town: mask, ranks (0 elsewhere), count, mean, variance.

    ``valid`` and ``filled`` are None in moments joined by :meth:`concat` (only the option totals read them)."""

    valid: np.ndarray | None
    filled: np.ndarray | None
    n: np.ndarray
    mean: np.ndarray
    total: np.ndarray

    @classmethod
    def concat(cls, parts: list["_RankMoments"]) -> "_RankMoments":
        """The moments of the rows of all ``parts`` in order, without their (rows x draws) matrices."""
        if not parts:
            return cls(None, None, np.empty(0, dtype=int), np.empty(0), np.empty(0))
        return cls(None, None, *(np.concatenate([getattr(m, f) for m in parts]) for f in ("n", "mean", "total")))

    @classmethod
    def of(cls, ranks: np.ndarray) -> "_RankMoments":
        valid = ~np.isnan(ranks)
        keep = valid.any(axis=1)
        if not keep.all():  # a copy of the matrix only where rows drop out
            valid, ranks = valid[keep], ranks[keep]
        n = valid.sum(axis=1)
        filled = np.where(valid, ranks, 0.0)
        mean = filled.sum(axis=1) / n
        # in blocks of rows: the squared deviations of all rows at once were two more matrices of 0.5 GiB
        total = np.concatenate([
            np.where(valid[i:i + QUANTILE_BLOCK_ROWS], (ranks[i:i + QUANTILE_BLOCK_ROWS] - mean[i:i + QUANTILE_BLOCK_ROWS, None]) ** 2,
                     0.0).sum(axis=1) for i in range(0, len(ranks), QUANTILE_BLOCK_ROWS)]) / n if len(ranks) else mean
        return cls(valid.astype(float), filled, n, mean, total)


def first_order_effect(ranks: np.ndarray, option_of_draw: np.ndarray, n_options: int | None = None,
                       moments: _RankMoments | None = None,
                       totals: tuple[np.ndarray, np.ndarray] | None = None) -> float:
    """First-order effect of a choice on ranks: mean over rows with Var(rank) > 0 of Var(E[rank | option]) / Var(rank).

    ``ranks`` is (rows, draws) with NaN where the row's town is not ranked; ``option_of_draw`` gives
    the option index (0..n_options-1) each draw used. Per row only its ranked draws count: with n_o
    of its N draws using option o, conditional means m_o and overall mean m, the between-option
    variance is sum_o (n_o / N) (m_o - m)^2 and the total variance mean((R - m)^2). Rows whose rank
    never varies are left out; 0.0 when no row varies. ``totals``: (counts, sums) per row and option
    already computed by :func:`_option_totals`.
    """
    moments = moments or _RankMoments.of(np.asarray(ranks, dtype=float))
    if totals is None:
        option_of_draw = np.asarray(option_of_draw, dtype=int)
        n_options = int(option_of_draw.max()) + 1 if n_options is None else n_options
        totals = _option_totals(moments, [(option_of_draw, n_options)])[0]
    counts, sums = totals
    with np.errstate(invalid="ignore", divide="ignore"):
        conditional = sums / counts
        between = np.where(counts > 0, counts / moments.n[:, None] * (conditional - moments.mean[:, None]) ** 2,
                           0.0).sum(axis=1)
    varies = moments.total > 1e-12
    if not varies.any():
        return 0.0
    return float(np.clip(between[varies] / moments.total[varies], 0.0, 1.0).mean())


def _option_totals(moments: _RankMoments, choices: list[tuple[np.ndarray, int]]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per choice (option of every draw, number of options): ranked draws and rank sums per row and option.

    One product over all choices' indicator columns at once: the (rows x draws) matrices are read twice
    in all, not twice per choice (19 choices: most of the sensitivity analysis' time). Ranks are whole
    numbers, so the sums are exact in any order of addition and equal to one product per choice.
    """
    width = sum(n for _, n in choices)
    onehot = np.zeros((moments.valid.shape[1], width))
    start = 0
    for option_of_draw, n_options in choices:
        option_of_draw = np.asarray(option_of_draw, dtype=int)
        onehot[np.arange(len(option_of_draw)), start + option_of_draw] = 1.0
        start += n_options
    counts, sums = moments.valid @ onehot, moments.filled @ onehot
    edges = np.cumsum([0, *[n for _, n in choices]])
    return [(counts[:, a:b], sums[:, a:b]) for a, b in zip(edges[:-1], edges[1:])]


def _weight_bins(drawn: np.ndarray, bins: int) -> tuple[np.ndarray, list[str]]:
    """Quantile bins of a drawn weight: option index per draw and labels ('fixed' when it does not vary)."""
    if np.ptp(drawn) <= 1e-12:
        return np.zeros(len(drawn), dtype=int), [f"fixed {drawn[0]:.2f}"]
    edges = np.quantile(drawn, np.linspace(0, 1, bins + 1))
    option = np.clip(np.searchsorted(edges[1:-1], drawn, side="right"), 0, bins - 1)
    names = ["low", "mid", "high"] if bins == 3 else [f"bin {b + 1}" for b in range(bins)]
    labels = [f"{names[b]} {edges[b]:.2f}-{edges[b + 1]:.2f}" for b in range(bins)]
    return option, labels


def _choices_of_draws(configurations: list[Configuration], allowed: dict[str, tuple[str, ...]], catalogue: Catalogue,
                      indicators: list[str], pillars: list[str], iw: np.ndarray, pw: np.ndarray,
                      weight_bins: int) -> list[tuple[str, np.ndarray, list[str]]]:
    """Per sensitivity choice: its name, the option index of every draw and the option labels (module docstring)."""
    per_choice: list[tuple[str, np.ndarray, list[str]]] = []
    for choice, options in allowed.items():
        picked = [getattr(c, choice) for c in configurations]
        per_choice.append((choice, np.array([options.index(o) for o in picked]), list(options)))
    for k, pillar in enumerate(pillars):
        per_choice.append((f"pillar_weight:{pillar}", *_weight_bins(pw[k], weight_bins)))
    for pillar in pillars:
        members = [j for j, i in enumerate(indicators) if catalogue.indicators[i].pillar == pillar
                   and float(catalogue.indicators[i].weight) > 0]
        if len(members) >= 2:
            for j in members:
                per_choice.append((f"indicator_weight:{indicators[j]}", *_weight_bins(iw[j], weight_bins)))
    return per_choice


@dataclass
class _PeriodResult:
    """What the bands and the sensitivity table need of one period's (towns x draws) scores, or of all periods
    joined: rank, score and compared-towns quantiles and scored draws per row, rank shifts per draw, rank
    moments and option totals per row."""

    rank_q: np.ndarray
    score_q: np.ndarray
    compared_q: np.ndarray
    scored: np.ndarray
    shift_sum: np.ndarray
    shift_count: np.ndarray
    moments: _RankMoments
    totals: list[tuple[np.ndarray, np.ndarray]]

    @classmethod
    def concat(cls, parts: list["_PeriodResult"], n_quantiles: int, draws: int,
               n_options: list[int]) -> "_PeriodResult":
        """All periods' rows in period order (as one matrix of all periods had them); shifts summed over periods.

        Rank shifts, counts and the option totals are sums of whole numbers, so adding them period by
        period gives exactly the sums over all rows at once."""
        def rows(name, width):
            arrays = [getattr(part, name) for part in parts]
            return np.concatenate(arrays) if arrays else np.empty((0, width) if width else 0)

        shift_sum, shift_count = np.zeros(draws), np.zeros(draws, dtype=int)
        for part in parts:
            shift_sum += part.shift_sum
            shift_count += part.shift_count
        totals = [tuple(np.concatenate([part.totals[c][k] for part in parts]) if parts else np.empty((0, n))
                        for k in range(2)) for c, n in enumerate(n_options)]
        return cls(rows("rank_q", n_quantiles), rows("score_q", n_quantiles), rows("compared_q", 1),
                   rows("scored", 0), shift_sum, shift_count,
                   _RankMoments.concat([part.moments for part in parts]), totals)


def _period_result(ranks: np.ndarray, score_q: np.ndarray, published_rank: np.ndarray,
                   option_columns: list[tuple[np.ndarray, int]]) -> _PeriodResult:
    """Reduce the (towns x draws) ranks of one period (and its score band ``score_q``) at once."""
    rank_q, scored = masked_quantiles(ranks, QUANTILES)
    compared = (~np.isnan(ranks)).sum(axis=0)  # ranked towns per draw
    compared_q = masked_quantiles(np.where(np.isnan(ranks), np.nan, compared[None, :].astype(float)), (0.5,))[0]
    shift = np.abs(ranks - published_rank[:, None])  # NaN where either is missing
    shift_valid = ~np.isnan(shift)
    shift_sum, shift_count = np.where(shift_valid, shift, 0.0).sum(axis=0), shift_valid.sum(axis=0)
    del shift, shift_valid
    moments = _RankMoments.of(ranks)
    totals = _option_totals(moments, option_columns)
    moments.valid = moments.filled = None  # the totals are taken; these two matrices are not needed any more
    return _PeriodResult(rank_q, score_q, compared_q, scored, shift_sum, shift_count, moments, totals)


def capped_at_compared(ranks: np.ndarray, published_rank: np.ndarray) -> np.ndarray:
    """``ranks`` (periods × towns, raveled by period) no larger than each period's number of towns ranked in the
    published configuration (``published_rank``: periods × towns, NaN for an unranked town)."""
    compared = (~np.isnan(published_rank)).sum(axis=1)
    return np.minimum(ranks, np.repeat(compared, published_rank.shape[1]))


def monte_carlo(values: pd.DataFrame, catalogue: Catalogue, reference_group: set[str], periods: list[int],
                draws: int | None = None, seed: int | None = None,
                concentration: float | None = DEFAULT_CONCENTRATION,
                choices: Mapping[str, Sequence[str]] | None = None,
                weight_bins: int = 3, weight_spread: float | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rank and score bands per (ags, period) over ``draws`` random method configurations, and a sensitivity table.

    See the module docstring for the uncertain inputs and the exact output columns. ``choices``
    restricts the options of ``normalisation``, ``imputation`` and ``aggregation`` (e.g.
    :func:`published_choices`), ``concentration=None`` fixes the weights; with both, every draw is
    the published configuration. Same arguments and seed give identical frames. Without ``draws`` or ``seed``,
    the catalogue's (``uncertainty``).
    """
    draws = _drawn(catalogue)["draws"] if draws is None else draws
    if draws < 1:
        raise ValueError("draws must be at least 1")
    configurations = sample_configurations(catalogue, draws, seed, concentration, choices, weight_spread)
    allowed = _check_choices(choices)
    pillars = list(catalogue.pillars)
    needed_norm = set(allowed["normalisation"]) | {"goalposts"}
    needed_imp = set(allowed["imputation"]) | {"carry-forward"}
    inputs = engine.prepare(values, catalogue, reference_group, periods,
                            [n for n in CHOICES["normalisation"] if n in needed_norm],
                            [i for i in CHOICES["imputation"] if i in needed_imp])
    indicators = inputs.indicators
    n_periods, n_towns = len(inputs.periods), len(inputs.towns)

    # Published configuration: the engine with the catalogue's choices, exactly as readiness_index.
    _, published_score = engine.score_method(inputs, catalogue, engine.published_method(catalogue))
    decimals = catalogue.score_decimals  # draws are ranked as the published index is
    published_rank = np.stack([rank_published(published_score[p], decimals) for p in range(n_periods)]) if n_periods \
        else np.empty((0, n_towns))

    # All draws, in batches sharing the discrete choices; one period at a time (see the module docstring).
    iw = np.array([[c.indicator_weights[i] for c in configurations] for i in indicators])
    iw = iw.reshape(len(indicators), draws)
    pw = np.array([[c.pillar_weights[p] for c in configurations] for p in pillars]).reshape(len(pillars), draws)
    combo = [(c.normalisation, c.imputation, c.aggregation) for c in configurations]
    batches = [(key, np.array([d for d, k in enumerate(combo) if k == key])) for key in sorted(set(combo))]
    # Scores of other normalisations are on other scales: the score band uses the draws that keep the
    # published goalposts (all draws when none does, e.g. a restricted analysis).
    on_scale = np.array([c.normalisation == "goalposts" for c in configurations])
    per_choice = _choices_of_draws(configurations, allowed, catalogue, indicators, pillars, iw, pw, weight_bins)
    option_columns = [(option_of_draw, len(labels)) for _, option_of_draw, labels in per_choice]

    parts: list[_PeriodResult] = []
    for p in range(n_periods):
        scores = np.empty((n_towns, draws))
        period = engine.period_inputs(inputs, p)
        for key, idx in batches:
            scores[:, idx] = engine.score(period, catalogue, *key, iw[:, idx], pw[:, idx])[1][0]
        score_q, _ = masked_quantiles(scores[:, on_scale] if on_scale.any() else scores, QUANTILES)
        ranks = rank_published(scores, decimals)
        del scores  # the score band is taken; the rest needs only the ranks
        parts.append(_period_result(ranks, score_q, published_rank[p], option_columns))
        del ranks
    result = _PeriodResult.concat(parts, len(QUANTILES), draws, [n for _, n in option_columns])

    bands = pd.DataFrame({
        "ags": np.tile(inputs.towns, n_periods),
        "period": np.repeat(np.asarray(inputs.periods, dtype=int), n_towns),
        "rank_published": pd.array(np.where(np.isnan(published_rank), -1, published_rank).ravel().astype(int),
                                   dtype="Int64"),
        "score_published": published_score.ravel(),
        "rank_median": result.rank_q[:, 0], "rank_p05": result.rank_q[:, 1], "rank_p95": result.rank_q[:, 2],
        "score_median": result.score_q[:, 0], "score_p05": result.score_q[:, 1], "score_p95": result.score_q[:, 2],
        "draws_scored": result.scored.astype(int),
        "compared_towns_median": result.compared_q[:, 0],
    })
    bands.loc[np.isnan(published_rank).ravel(), "rank_published"] = pd.NA
    # A draw may rank more towns than the published configuration (nearest-period imputation scores towns that
    # carry-forward cannot), so a band end can pass the published count: it means "last" and is published as that
    # count ("Rang 3.197 von 3.223, Rangband 2.922–3.261" in 2018; the sentence already read it so, bands.py).
    for column in ("rank_median", "rank_p05", "rank_p95"):
        bands[column] = capped_at_compared(bands[column].to_numpy(), published_rank)
    # only towns ranked in the published configuration: a band beside no published rank read as a rank the town
    # does not have (86 unscored towns had "Rang 34–78" in 2018, their gaps filled from later years by 'nearest')
    ranked = (bands["draws_scored"] > 0) & bands["rank_published"].notna()
    bands = bands[ranked].sort_values(["period", "ags"]).reset_index(drop=True)[BAND_COLUMNS]

    # Sensitivity: option of every draw per choice; shifts against the published rank.
    published_ranked = int((~np.isnan(published_rank)).sum())
    rows = []
    for (choice, option_of_draw, labels), choice_totals in zip(per_choice, result.totals):
        effect = first_order_effect(None, option_of_draw, len(labels), result.moments, choice_totals)
        for o, label in enumerate(labels):
            used = option_of_draw == o
            count = result.shift_count[used].sum()
            possible = published_ranked * int(used.sum())
            rows.append({"choice": choice, "option": label, "draws": int(used.sum()),
                         "scored_share": float(count / possible) if possible else math.nan,
                         "mean_abs_rank_shift": float(result.shift_sum[used].sum() / count) if count else math.nan,
                         "first_order": effect})
    sensitivity = pd.DataFrame(rows, columns=SENSITIVITY_COLUMNS)
    return bands, sensitivity

"""Recipe: the target and every input, its statistics as formulas over the training rows.

Each statistic has a defined name (`fill_Age`, `max_Age`, `mean_bill_length_mm`,
`level2_island`) that the Data and Test sheets' feature formulas use. A category with top
levels lists every training level (the 100 most frequent at most) with its count by
formula, its rank by formula (ties go to the level written first, as in torch), and the
kept levels looked up by rank, so that editing the data re-chooses them.

Over a sample of the rows (--sheet-rows), a formula would see other rows than torch
did: the statistics are then written as torch's values (yellow), ranks still by formula.
"""
from __future__ import annotations

from titanic_reg import transforms as T
from titanic_reg.transforms import level_text

from .data_sheet import Block, part_key
from .layout import FIRST_ROW, Writer, col, ref, span
from .names import Names

SHEET = "Recipe"
LEVELS_SHOWN = 100
NAME, KIND, STAT, VALUE, COUNT, RANK, ABOUT = range(7)


def _about(key: str, spec) -> str:
    """What a statistic is, in words, beside its value."""
    of = " of log10(x + 1)" if getattr(spec, "log", False) else ""
    return {"fill": f"the training {getattr(spec, 'fill', None) or 'mode'}: a missing value's stand-in",
            "max": f"the training maximum{of}: the scale",
            "mean": f"the training mean{of}", "sd": f"the training standard deviation{of} (population)",
            "min": f"the training minimum{of}"}[key]


def write_recipe_sheet(w: Writer, result, data: Block, names: Names) -> None:
    ws, s = w.ws, w.s
    recipe, fitted = result.recipe, result.fitted
    sampled = bool(result.sample_of)
    last = FIRST_ROW + result.n_train - 1
    ws.write_string(0, 0, "Recipe: how each column becomes features, with its statistics by formula over the "
                          "training rows", s.title)
    w.text(1, 0, f"{recipe.source[0].upper() + recipe.source[1:]}. The reasons are the recipe's, as "
                 "recipe.toml has them: edit that file and fit again with --recipe.", s.note)
    if sampled:
        ws.write_string(2, 0, "These rows are a SAMPLE: the statistics are torch's, over every training row "
                              "(yellow), not formulas over the sample.", s.note)
    for c, width in zip(range(7), (20, 14, 26, 14, 10, 7, 90)):
        ws.set_column(c, c, width)
    w.headers(3, 0, ["column", "kind", "statistic", "value", "count", "rank", "about"])
    r = 4

    def stat(row, key, spec, formula, value, array=False, number_fmt="stat", column=None):
        name = names(key, column or spec.column)
        ws.write_string(row, STAT, name, s())
        w.text(row, ABOUT, _about(key, spec) + ("" if formula and not sampled else " (torch's value: "
                                                 + ("a tied or single mode, which engines break differently)"
                                                    if not sampled else "over every training row)")))
        if formula is None or sampled:
            w.reported(row, VALUE, value, number_fmt)
        elif array:
            ws.write_array_formula(row, VALUE, row, VALUE, "{=" + formula + "}", s("formula", number_fmt),
                                   _cached(value))
        else:
            w.formula(row, VALUE, formula, value, number_fmt)
        w.wb.define_name(name, f"={SHEET}!${col(VALUE)}${row + 1}")

    # The target.
    t = recipe.target
    ws.write_string(r, NAME, t.column, s(None, None, bold=True))
    ws.write_string(r, KIND, f"target, {t.kind}", s())
    w.text(r, ABOUT, f"{t.describe(fitted.target)}: {t.reason}")
    r += 1
    if t.kind == "number":
        # A target learned as its log: the statistics of the Data sheet's log column.
        rng = data.range_of(data.target if data.log is None else data.log, FIRST_ROW, last, data.sheet)
        formulas = t.stat_formulas(rng)
        for key in ("min", "sd"):
            stat(r, key, t, formulas[key], fitted.target[key])
            r += 1
    elif t.kind == "classes":  # each class, in the order of the models' outputs, and its training rows
        y = result.y[:result.n_train].long()
        for k, value in enumerate(fitted.target["classes"]):
            ws.write_string(r, STAT, f"class {k} (output {k + 1})", s())
            w.raw(r, VALUE, str(value) if not t.numeric else value, "text" if not t.numeric else None)
            onehot = span(data.y + k, data.y + k, FIRST_ROW, last, data.sheet)
            w.formula(r, COUNT, f"SUM({onehot})", int((y == k).sum()), "int")
            r += 1
    else:
        ws.write_string(r, STAT, "positive class (1)", s())
        w.raw(r, VALUE, t.positive if isinstance(t.positive, str) else float(t.positive),
              "text" if isinstance(t.positive, str) else None)
        r += 1
    r += 1

    def one(r, spec, stats, rng, x_train, key, kind, features):
        ws.write_string(r, NAME, spec.column, s(None, None, bold=True))
        ws.write_string(r, KIND, kind, s())
        w.text(r, ABOUT, f"{features or 'no feature'}: {spec.reason}")
        r += 1
        formulas = spec.stat_formulas(rng, x_train, names.of(key), stats)
        first = r
        for stat_key, (formula, array) in formulas.items():
            value = spec.sheet_value(stats[stat_key], stats)
            fmt = "text" if isinstance(value, str) else ("date" if spec.raw_kind(stats) == "date" else "stat")
            stat(r, stat_key, spec, formula, value, array, fmt, key)
            r += 1
        if spec.level_table(stats):
            r = _levels(w, r, spec, stats, rng, names, sampled, key)
        if r == first:
            ws.write_string(r, STAT, "(no statistic: used as it is)", s.note)
            r += 1
        return r + 1

    for spec in recipe.inputs:
        stats = fitted.stats[spec.column]
        rng = data.column(spec.column, FIRST_ROW, last, data.sheet)
        x_train = result.data.columns[spec.column][:result.n_train]
        r = one(r, spec, stats, rng, x_train, spec.column, spec.kind,
                ", ".join(fitted.names[slice(*fitted.span(spec.column))]))
        # A date's parts: each a column of the Data sheet, with statistics of its own over it.
        values = spec.part_values(x_train, stats)
        for (part, t, part_stats), v in zip(spec.part_specs(stats), values):
            part_rng = data.column((spec.column, part), FIRST_ROW, last, data.sheet)
            r = one(r, t, part_stats, part_rng, spec.part_input(part, v), part_key(spec, part),
                    f"{t.kind}, part of {spec.column}", ", ".join(t.names(part_stats)))
    ws.freeze_panes(4, 1)


def _levels(w: Writer, r: int, spec, stats: dict, rng: str, names: Names, sampled: bool, key: str) -> int:
    ws, s = w.ws, w.s
    numeric = stats["numeric"]
    if spec.fixed:
        shown = ", ".join(level_text(v) for v in stats["kept"])
        ws.write_string(r, STAT, "levels with a column", s())
        w.text(r, VALUE, shown)
        w.text(r + 1, ABOUT, "fixed by the recipe; any other value has no column of its own"
                             + (f" but {spec.column}_other" if stats["other"] else ""))
        return r + 2
    shown = max(LEVELS_SHOWN, len(stats["kept"]))  # every kept level is looked up among those listed
    levels, counts = stats["levels"][:shown], stats["counts"][:shown]
    first, last = r, r + len(levels) - 1
    counts_rng = span(COUNT, COUNT, first, last)
    values_rng = span(VALUE, VALUE, first, last)
    ranks_rng = span(RANK, RANK, first, last)
    for i, (level, count) in enumerate(zip(levels, counts)):
        row = first + i
        ws.write_string(row, STAT, "level (missing)" if level is None else "level", s())
        if level is None:  # matches an empty cell: EXACT(blank, "") is TRUE
            w.formula(row, VALUE, '""', "", "text")
        else:
            w.raw(row, VALUE, spec.sheet_value(level, stats), "text" if not numeric else None)
        if sampled:
            w.reported(row, COUNT, count, "int")
        else:
            ws.write_array_formula(row, COUNT, row, COUNT, "{=" + T.count_formula(rng, ref(VALUE, row)) + "}",
                                   s("formula", "int"), count)
        w.formula(row, RANK, T.rank_formula(counts_rng, f"${col(COUNT)}${first + 1}", ref(COUNT, row)), i + 1, "int")
    r = last + 1
    if len(stats["levels"]) > shown:
        ws.write_string(r, STAT, f"... and {len(stats['levels']) - shown:,} rarer levels, not listed", s.note)
        r += 1
    for k, level in enumerate(stats["kept"], 1):
        name = names(f"level{k}", key)
        baseline = k == 1 and stats["baseline"] is not None
        ws.write_string(r, STAT, name, s())
        cached = "" if level is None else spec.sheet_value(level, stats)
        w.formula(r, VALUE, T.kept_formula(values_rng, ranks_rng, k), cached, "text" if isinstance(cached, str)
                  else "stat")
        w.wb.define_name(name, f"={SHEET}!${col(VALUE)}${r + 1}")
        about = (f"the most frequent level, {level_text(level)}: the baseline, no column of its own" if baseline
                 else f"the level ranked {k}, {level_text(level)}: "
                      f"{spec.column}_{level_text(level) if level is not None else 'missing'}")
        w.text(r, ABOUT, about)
        r += 1
    if stats["other"]:
        w.text(r, ABOUT, f"{spec.column}_other: 1 for any level not kept above, rarer ones and those never seen "
                         "in training")
        r += 1
    return r


def _cached(value):
    return "" if value is None else value

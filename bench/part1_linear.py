"""Part 1: the linear model to within 1e-6 of the least-squares optimum, on the lesson's
712 complete rows, against scikit-learn's LinearRegression (the target: at most twice its
time), Adam (this model's default before conjugate gradient), the lesson's naive loop
(the target: far ahead of it) and, as a what-if, torch's L-BFGS.

Why: the linear model's loss is a quadratic with a closed-form answer, so the question is
not whether we reach it but how the whole train() call compares with what a user would
otherwise run to get there.
"""
from __future__ import annotations

from common import (
    Results,
    fmt_s,
    fmt_x,
    interleaved,
    lesson_matrix,
    log,
    median,
    now,
    per_call,
    summary,
    train_settings,
    verdict,
)

LINEAR_GAP = 1e-6  # "within 1e-6 of the least-squares optimum"
NAIVE_CAP_STEPS, NAIVE_CAP_SECONDS = 200_000, 60.0
FAR_AHEAD = 5.0  # our reading of "far ahead of the naive loop": at least 5x faster


def run(res: Results, reps: int) -> None:
    from dataclasses import replace

    import numpy as np
    from sklearn.linear_model import LinearRegression

    from titanic_reg.models import get
    from titanic_reg.pipeline import model_config
    from titanic_reg.train import TrainConfig, initial_params, train

    log("part 1: linear model to the least-squares optimum")
    X, y = lesson_matrix()
    Xn, yn = X.numpy(), y.numpy()
    w_opt, *_ = np.linalg.lstsq(Xn, yn, rcond=None)
    opt = float(np.mean((Xn @ w_opt - yn) ** 2))
    goal = opt + LINEAR_GAP
    model = get("linear")
    cfg = model_config(model)  # what fit() runs
    info = {"rows": X.shape[0], "features": X.shape[1], "optimum_mse": opt, "goal": goal,
            "defaults": train_settings(cfg), "optimizer": cfg.optimizer}

    def first_within(config):
        hist = np.array(train(model, X, y, config).history)
        return (int(np.argmax(hist <= goal)) if (hist <= goal).any() else None), hist

    # (a) ours: the first step of the default run within 1e-6, then exactly that many steps, timed.
    k, hist = first_within(cfg)
    default_run = train(model, X, y, cfg)
    info["ours_first_step_within"] = k
    info["ours_default_run"] = {"steps": len(default_run.history) - 1, "epochs": cfg.epochs,
                                "final_gap": default_run.train_mse - opt}
    cfg_k = replace(cfg, epochs=max(k or 1, 1))
    info["ours_gap_at_k"] = train(model, X, y, cfg_k).train_mse - opt
    # Adam at the lesson's lr 0.1: this model's default until conjugate gradient.
    adam = TrainConfig(epochs=5000, lr=0.1, optimizer="adam")
    k_adam, _ = first_within(adam)
    info["adam_first_step_within"] = k_adam
    adam_k = replace(adam, epochs=max(k_adam or adam.epochs, 1))

    calls = 20
    fns = {"ours": lambda: train(model, X, y, cfg_k),
           "sklearn": lambda: LinearRegression(fit_intercept=False).fit(Xn, yn),
           "lstsq": lambda: np.linalg.lstsq(Xn, yn, rcond=None),
           "ours_default": lambda: train(model, X, y, cfg),
           "adam": lambda: train(model, X, y, adam_k)}
    times = interleaved({name: per_call(fn, calls if name != "adam" else 2) for name, fn in fns.items()},
                        rounds=reps, warmup=1)
    times = {name: [t / (calls if name != "adam" else 2) for t in v] for name, v in times.items()}
    sk_model = LinearRegression(fit_intercept=False).fit(Xn, yn)
    info["sklearn_gap"] = float(np.mean((Xn @ sk_model.coef_ - yn) ** 2)) - opt
    t_ours, t_sk = median(times["ours"]), median(times["sklearn"])
    info["times"] = {name: summary(v) for name, v in times.items()}
    info["calls_per_sample"] = calls

    # (c) the lesson's naive loop: autograd, w -= lr * w.grad, lr 0.1, a Python loop.
    import torch

    init_ours = initial_params(model, X, TrainConfig(epochs=1, lr=0.1))[0]
    gen = torch.Generator().manual_seed(442)  # the lesson's start: torch.rand(n_coeff) - 0.5
    init_lesson = (torch.rand(X.shape[1], generator=gen) - 0.5).to(torch.float64)
    naive = {}
    default_threads = torch.get_num_threads()
    ours_call = per_call(fns["ours"], 1)
    for start, w0, nthreads in (("our start", init_ours, default_threads),
                                ("our start", init_ours, 1),
                                ("lesson's start: seed 442, rand - 0.5", init_lesson, default_threads)):
        label = f"{start}; {nthreads} thread{'s' if nthreads > 1 else ''}"
        before = torch.get_num_threads()
        torch.set_num_threads(nthreads)
        try:
            naive[label] = naive_loop(X, y, w0, goal, reps=max(3, reps - 2), ours=ours_call)
        finally:
            torch.set_num_threads(before)
        naive[label]["threads"] = nthreads
    info["naive"] = naive

    # What-if (not ours): L-BFGS from our start, the quasi-Newton route to the same optimum.
    info["lbfgs"] = lbfgs_whatif(X, y, init_ours, goal, reps)
    res.parts["1"] = info

    # Rows.
    ratio = t_ours / t_sk
    res.add(1, "linear: ours (conjugate gradient, the default) to optimum + 1e-6",
            f"{fmt_s(t_ours)} ({k} steps, {fmt_s(t_ours / max(k, 1))}/step, the whole train() call)",
            value=t_ours, unit="s")
    res.add(1, "linear: scikit-learn LinearRegression(fit_intercept=False)",
            f"{fmt_s(t_sk)} (gap {info['sklearn_gap']:.1e}); np.linalg.lstsq {fmt_s(median(times['lstsq']))}",
            value=t_sk, unit="s")
    res.add(1, "linear: ours / scikit-learn", fmt_x(ratio), "≤ 2×", verdict(ratio <= 2), value=ratio)
    dr = info["ours_default_run"]
    res.add(1, "linear: ours, the default call (what fit runs; stops once converged)",
            f"{fmt_s(median(times['ours_default']))} ({dr['steps']} steps, gap {dr['final_gap']:.1e})",
            value=median(times["ours_default"]), unit="s")
    res.add(1, "linear: Adam, lr 0.1 (the default before conjugate gradient), to optimum + 1e-6",
            f"{fmt_s(median(times['adam']))} ({k_adam} steps) = {fmt_x(median(times['adam']) / t_ours)} ours",
            value=median(times["adam"]), unit="s")
    first_label = next(iter(naive))
    for label, nv in naive.items():
        if nv["reached"]:
            r = nv["ratio"]
            res.add(1, f"linear: lesson's naive loop, lr 0.1 ({label})",
                    f"{fmt_s(nv['median_s'])} ({nv['steps']} steps) vs ours {fmt_s(nv['ours_median_s'])} "
                    f"in the same rounds → ours {fmt_x(r)} faster",
                    f"far ahead (≥ {FAR_AHEAD:g}×)" if label == first_label else "",
                    verdict(r >= FAR_AHEAD) if label == first_label else "", value=nv["median_s"], unit="s")
        else:
            res.add(1, f"linear: lesson's naive loop ({label})",
                    f"did not reach in {nv['steps']} steps / {fmt_s(nv['seconds'])} (gap {nv['gap']:.1e})",
                    f"far ahead (≥ {FAR_AHEAD:g}×)" if label == first_label else "",
                    verdict(True) if label == first_label else "", value=None)
    lb = info["lbfgs"]
    if lb.get("reached"):
        res.add(1, "linear: what-if L-BFGS (torch.optim.LBFGS, strong Wolfe), not ours",
                f"{fmt_s(lb['median_s'])} ({lb['iterations']} iterations) = {fmt_x(lb['median_s'] / t_sk)} sklearn",
                value=lb["median_s"], unit="s")


def naive_loop(X, y, w0, goal, reps: int, ours) -> dict:
    """The lesson's loop. First find the step that reaches `goal` (checking every step),
    then time exactly that many steps without the checks."""
    import torch

    def loop(steps, check):
        """(first step at or below goal or None, seconds, last loss)."""
        w = w0.clone().requires_grad_(True)
        t0 = now()
        for step in range(steps + 1):
            loss = ((X @ w - y) ** 2).mean()
            if check:
                v = loss.item()
                if v <= goal:
                    return step, now() - t0, v
                if now() - t0 > NAIVE_CAP_SECONDS:
                    return None, now() - t0, v
            if step == steps:
                break
            loss.backward()
            with torch.no_grad():
                w -= 0.1 * w.grad
                w.grad.zero_()
        return (None if check else steps), now() - t0, loss.item()

    k, secs, last = loop(NAIVE_CAP_STEPS, check=True)
    if k is None:
        return {"reached": False, "steps": NAIVE_CAP_STEPS, "stopped_by": "time" if secs > NAIVE_CAP_SECONDS else "steps",
                "seconds": secs, "gap": last - goal + LINEAR_GAP}
    # Timed in alternation with ours (on ours' own thread policy), for a side-by-side ratio.
    before = torch.get_num_threads()
    times = interleaved({"naive": lambda: loop(k, check=False), "ours": ours}, rounds=reps, warmup=0)
    torch.set_num_threads(before)
    return {"reached": True, "steps": k, "median_s": median(times["naive"]), "samples": times["naive"],
            "ours_median_s": median(times["ours"]), "ours_samples": times["ours"],
            "ratio": median(times["naive"]) / median(times["ours"]),
            "with_checks_s": secs}


def lbfgs_whatif(X, y, w0, goal, reps: int) -> dict:
    import torch

    def run(max_iter):
        w = w0.clone().requires_grad_(True)
        opt = torch.optim.LBFGS([w], lr=1, max_iter=max_iter, history_size=10,
                                line_search_fn="strong_wolfe", tolerance_grad=1e-14, tolerance_change=1e-16)

        def closure():
            opt.zero_grad()
            loss = ((X @ w - y) ** 2).mean()
            loss.backward()
            return loss

        opt.step(closure)
        with torch.no_grad():
            return float(((X @ w - y) ** 2).mean())

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        it = None
        for m in range(1, 200):
            if run(m) <= goal:
                it = m
                break
        if it is None:
            return {"reached": False}
        run(it)
        times = []
        for _ in range(reps):
            t = now()
            run(it)
            times.append(now() - t)
    finally:
        torch.set_num_threads(before)
    return {"reached": True, "iterations": it, "median_s": median(times), "samples": times}

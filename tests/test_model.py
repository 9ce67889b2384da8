"""The math side against known values: features by hand, optima, targets, baselines."""
import math

import numpy as np
import pytest
import torch

from titanic_reg.errors import TrainingError
from titanic_reg.models import get

LINEAR, TWO_RELU = get("linear"), get("two_relu")
from titanic_reg.train import TrainConfig, resolve_device, train

LESSON_OPTIMUM = 0.144227149307  # the lesson workbook's Solver result = least squares


def test_feature_order(lesson_fit):
    assert lesson_fit.features == ("SibSp", "Parch", "Age_N", "log_Fare", "Pclass_1", "Pclass_2",
                             "Embark_S", "Embark_C", "Male", "Ones")


def test_features_of_the_first_rows_by_hand(lesson_fit):
    X = lesson_fit.X.numpy()
    assert lesson_fit.fitted.stats["Age"]["max"] == 80
    # Braund, Mr. Owen Harris: 3rd class male, 22, SibSp 1, fare 7.25, Southampton
    assert X[0] == pytest.approx([1, 0, 22 / 80, math.log10(8.25), 0, 0, 1, 0, 1, 1], abs=1e-15)
    # Cumings, Mrs. John Bradley: 1st class female, 38, SibSp 1, fare 71.2833, Cherbourg
    assert X[1] == pytest.approx([1, 0, 38 / 80, math.log10(72.2833), 1, 0, 0, 1, 0, 1], abs=1e-15)
    # Heikkinen, Miss Laina: 3rd class female, 26, fare 7.925, Southampton
    assert X[2] == pytest.approx([0, 0, 26 / 80, math.log10(8.925), 0, 0, 1, 0, 0, 1], abs=1e-15)


def test_lesson_rows(lesson_fit):
    assert len(lesson_fit.data) == 712 and lesson_fit.dropped == 179 and lesson_fit.n_train == 712


def test_linear_reaches_the_closed_form_optimum(lesson_fit):
    m = lesson_fit.metrics["linear"]
    assert abs(m["train_mse"] - LESSON_OPTIMUM) < 1e-6
    assert lesson_fit.optimum.mse == pytest.approx(LESSON_OPTIMUM, abs=1e-12)
    w_closed = np.array(lesson_fit.optimum.params)
    assert lesson_fit.runs["linear"].params.numpy() == pytest.approx(w_closed, abs=1e-4)


def test_two_relu_beats_the_lessons_solver(lesson_fit):
    assert lesson_fit.metrics["two_relu"]["train_mse"] <= 0.1300
    history = lesson_fit.runs["two_relu"].trained.history
    assert history[-1] == pytest.approx(lesson_fit.metrics["two_relu"]["train_mse"], abs=1e-15)
    assert len(history) == lesson_fit.runs["two_relu"].config.epochs + 1


def test_restarts_are_batched_and_the_best_is_kept(lesson_fit):
    t = lesson_fit.runs["two_relu"].trained
    assert len(t.restart_losses) == lesson_fit.runs["two_relu"].config.restarts > 1
    assert t.train_mse == min(t.restart_losses)


def test_baselines(lesson_fit):
    m = lesson_fit.metrics
    assert m["sklearn_linear"]["train_mse"] == pytest.approx(LESSON_OPTIMUM, abs=1e-12)
    assert m["sklearn_linear"]["params"] == pytest.approx(lesson_fit.optimum.params, abs=1e-9)
    y = lesson_fit.y.numpy()
    assert m["everyone_dies"]["train_acc"] == pytest.approx(1 - y.mean())
    assert m["everyone_dies"]["train_mse"] == pytest.approx(y.mean())
    male = lesson_fit.X.numpy()[:, lesson_fit.features.index("Male")]
    assert m["women_survive"]["train_acc"] == pytest.approx(np.mean((1 - male) == y))
    assert 0.78 < m["sklearn_logistic"]["train_acc"] < 0.83
    assert m["sklearn_mlp"]["train_mse"] < 0.16
    assert 0.6 < m["sklearn_gbm"]["train_acc"] <= 1 and m["sklearn_gbm"]["train_mse"] < 0.16
    for name in ("sklearn_linear", "sklearn_logistic", "sklearn_mlp", "sklearn_gbm", "everyone_dies",
                 "women_survive"):
        assert m[name]["valid_mse"] is None and m[name]["fit_seconds"] >= 0


def test_validation_split_is_seeded_and_statistics_come_from_training_rows():
    import titanic_reg

    r = titanic_reg.fit("data/train.csv", epochs=2, restarts=1, descent_steps=0, baselines=None)
    assert r.n_train == 570 and len(r.data) - r.n_train == 142
    again = titanic_reg.fit("data/train.csv", epochs=1, baselines=None)
    assert again.data.id.tolist() == r.data.id.tolist()
    ages = r.data.columns["Age"]
    assert r.fitted.stats["Age"]["max"] == ages[:r.n_train].max()
    assert r.metrics["linear"]["valid_mse"] is not None


def test_fill_keeps_every_row_and_fills_with_the_training_mode():
    import pandas as pd

    import titanic_reg

    r = titanic_reg.fit("data/train.csv", missing="fill", epochs=2, restarts=1, descent_steps=0, baselines=None)
    assert len(r.data) == 891 and r.dropped == 0
    ages = pd.Series(r.data.columns["Age"][:r.n_train])
    assert r.fitted.stats["Age"]["fill"] == ages.mode().iloc[0]
    assert r.fitted.stats["Embarked"]["fill"] == "S"
    assert not torch.isnan(r.X).any() and not torch.isnan(r.X_test).any()


def test_plain_gradient_descent_is_the_lessons_step(lesson_fit):
    X, y = lesson_fit.X, lesson_fit.y
    cfg = TrainConfig(epochs=3, lr=0.1, optimizer="sgd", seed=1)
    out = train(LINEAR, X, y, cfg)
    w = out.init.clone().requires_grad_()
    for _ in range(3):
        loss = ((X @ w - y) ** 2).mean()
        loss.backward()
        with torch.no_grad():
            w -= 0.1 * w.grad
            w.grad.zero_()
    assert out.params.numpy() == pytest.approx(w.detach().numpy(), abs=1e-15)


def test_a_diverging_loss_names_the_step(lesson_fit):
    with pytest.raises(TrainingError, match=r"at step \d+.*smaller learning rate"):
        train(LINEAR, lesson_fit.X, lesson_fit.y, TrainConfig(epochs=2000, lr=1e3, optimizer="sgd"))


def test_cuda_is_never_a_silent_fallback():
    if torch.cuda.is_available():
        assert resolve_device("cuda").type == "cuda"
    else:
        with pytest.raises(TrainingError, match="no CUDA"):
            resolve_device("cuda")
    assert resolve_device("cpu").type == "cpu"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("name", ["linear", "two_relu", "relus:4", "mlp:8", "mlp:8-4", "mlp:4:sigmoid"])
def test_cpu_and_gpu_agree(lesson_fit, name):
    from titanic_reg.models import get
    from titanic_reg.pipeline import model_config

    model = get(name)
    cfg = model_config(model, epochs=200, restarts=8)
    a = train(model, lesson_fit.X, lesson_fit.y, cfg, torch.device("cpu"))
    b = train(model, lesson_fit.X, lesson_fit.y, cfg, torch.device("cuda"))
    assert a.params.numpy() == pytest.approx(b.params.numpy(), abs=1e-9)
    assert a.train_mse == pytest.approx(b.train_mse, abs=1e-9)


def test_same_seed_same_parameters_bit_for_bit(lesson_fit):
    cfg = TrainConfig(epochs=50, lr=0.03, restarts=4, seed=7)
    a = train(TWO_RELU, lesson_fit.X, lesson_fit.y, cfg)
    b = train(TWO_RELU, lesson_fit.X, lesson_fit.y, cfg)
    assert torch.equal(a.params, b.params) and a.history == b.history


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_update_rules_equal_torch_optim(lesson_fit, optimizer):
    """train() writes the updates out (no torch.optim start-up): they must be torch's own."""
    from titanic_reg.losses import MSE
    from titanic_reg.train import initial_params

    X, y = lesson_fit.X, lesson_fit.y
    cfg = TrainConfig(epochs=60, lr=0.03, optimizer=optimizer, restarts=4, seed=3)
    ours = train(TWO_RELU, X, y, cfg)
    P = initial_params(TWO_RELU, X, cfg).requires_grad_()
    opt = {"sgd": lambda: torch.optim.SGD([P], lr=0.03),
           "momentum": lambda: torch.optim.SGD([P], lr=0.03, momentum=0.9),
           "adam": lambda: torch.optim.Adam([P], lr=0.03)}[optimizer]()
    for _ in range(60):
        loss = MSE.mean(TWO_RELU.predict(X, P), y)
        opt.zero_grad()
        loss.sum().backward()
        opt.step()
    assert P.detach()[ours.kept].numpy() == pytest.approx(ours.params.numpy(), abs=1e-12)


def test_conjugate_gradient_reaches_least_squares_in_about_one_step_per_parameter(lesson_fit):
    """The linear model's default: on a quadratic, each of the 10 directions is searched once."""
    X, y = lesson_fit.X, lesson_fit.y
    out = train(LINEAR, X, y, TrainConfig(epochs=500, lr=None, optimizer="cg", restarts=3, seed=5))
    steps = len(out.history) - 1
    assert 10 <= steps <= 15  # it stopped by itself, long before 500
    assert out.train_mse == pytest.approx(LESSON_OPTIMUM, abs=1e-12)
    assert all(loss == pytest.approx(LESSON_OPTIMUM, abs=1e-12) for loss in out.restart_losses)
    assert all(a >= b - 1e-15 for a, b in zip(out.history, out.history[1:]))  # never uphill
    assert out.params.numpy() == pytest.approx(np.array(lesson_fit.optimum.params), abs=1e-8)
    # Its losses come from the quadratic's form (w.Gw - 2 b.w + c): the same as the rows' own MSE.
    direct = ((X @ out.params - y) ** 2).mean().item()
    assert out.train_mse == pytest.approx(direct, abs=1e-15)
    capped = train(LINEAR, X, y, TrainConfig(epochs=4, lr=None, optimizer="cg", seed=5))
    assert len(capped.history) == 5 and capped.train_mse > LESSON_OPTIMUM + 1e-4


def test_conjugate_gradient_is_refused_for_the_two_relu_model(lesson_fit):
    with pytest.raises(TrainingError, match="quadratic"):
        train(TWO_RELU, lesson_fit.X, lesson_fit.y, TrainConfig(epochs=5, lr=None, optimizer="cg"))


def test_many_rows_screen_the_starts_on_a_sample_then_train_the_best_on_every_row(lesson_fit, monkeypatch):
    import titanic_reg.train as T
    from titanic_reg.losses import MSE

    monkeypatch.setattr(T, "SCREEN_ROWS", 300)  # the lesson's 712 rows count as many here
    X, y = lesson_fit.X, lesson_fit.y
    cfg = TrainConfig(epochs=40, lr=0.03, restarts=6, seed=11)
    out = train(TWO_RELU, X, y, cfg)
    assert out.screen["rows"] == 300 and len(out.history) == 41 and len(out.restart_losses) == 6
    # The starts are ranked by their loss on every row, and the best one goes on from there.
    assert out.kept == int(np.argmin(out.restart_losses))
    assert out.history[0] == pytest.approx(out.restart_losses[out.kept], abs=1e-14)
    # Screening is the batched training on the sample, and the kept start its best on every row.
    rows = torch.randperm(len(X), generator=torch.Generator().manual_seed(11))[:300].sort().values
    sample = T._train(TWO_RELU, X[rows], y[rows], cfg, torch.device("cpu"), lambda *a, **k: None)
    assert out.init.tolist() == T.initial_params(TWO_RELU, X[rows], cfg)[out.kept].tolist()
    assert out.screen["sample_mse"] == pytest.approx(sample.restart_losses[out.kept], abs=1e-15)
    assert out.train_mse == pytest.approx(MSE.mean(TWO_RELU.predict(X, out.params[None]), y).item(), abs=1e-15)
    # One start, or cg, never screens.
    assert train(TWO_RELU, X, y, TrainConfig(epochs=5, lr=0.03, restarts=1)).screen is None


def test_losses_in_blocks_equal_losses_at_once(lesson_fit):
    from titanic_reg.losses import MSE
    from titanic_reg.train import _losses, initial_params

    X, y = lesson_fit.X, lesson_fit.y
    P = initial_params(TWO_RELU, X, TrainConfig(epochs=1, lr=0.03, restarts=5))
    assert _losses(TWO_RELU, X, y, P, block=64).numpy() == pytest.approx(
        MSE.mean(TWO_RELU.predict(X, P), y).numpy(), abs=1e-15)


def test_the_mlp_baseline_takes_a_seeded_sample_of_many_rows(lesson_fit, monkeypatch):
    from titanic_reg import baselines

    import dataclasses

    small = dataclasses.replace(baselines.SKLEARN["sklearn_mlp"], max_rows=300)
    monkeypatch.setattr(baselines, "SKLEARN", {**baselines.SKLEARN, "sklearn_mlp": small})
    X, y = lesson_fit.X.numpy(), lesson_fit.y.numpy()
    scores, predict = baselines.run(X[:600], y[:600], X[600:], y[600:], seed=3)
    assert scores["sklearn_mlp"]["fit_rows"] == 300 and scores["sklearn_linear"]["fit_rows"] == 600
    # Scored on every row all the same.
    mse = float(np.mean((predict["sklearn_mlp"](X[:600]) - y[:600]) ** 2))
    assert scores["sklearn_mlp"]["train_mse"] == pytest.approx(mse, abs=1e-15)
    again, _ = baselines.run(X[:600], y[:600], X[600:], y[600:], seed=3)
    assert again["sklearn_mlp"]["train_mse"] == scores["sklearn_mlp"]["train_mse"]  # seeded


def test_conjugate_gradient_stops_at_once_from_the_minimum_and_says_when_capped(lesson_fit):
    from titanic_reg.train import _conjugate_gradient

    X, y = lesson_fit.X, lesson_fit.y
    nothing = lambda *a, **k: None  # noqa: E731
    at_min = torch.tensor(lesson_fit.optimum.params, dtype=torch.float64).reshape(1, 10)
    _, history, converged = _conjugate_gradient(LINEAR, X, y, at_min, TrainConfig(epochs=500, lr=None), nothing)
    assert converged and len(history) <= 3  # its first gradient is rounding already
    capped = train(LINEAR, X, y, TrainConfig(epochs=4, lr=None, optimizer="cg"))
    assert capped.converged is False
    assert train(LINEAR, X, y, TrainConfig(epochs=500, lr=None, optimizer="cg")).converged is True
    assert train(TWO_RELU, X, y, TrainConfig(epochs=3, lr=0.03)).converged is None


def test_progress_hears_of_every_step_and_of_the_totals(lesson_fit, monkeypatch):
    import titanic_reg.train as T

    X, y = lesson_fit.X, lesson_fit.y
    calls = []
    cg = TrainConfig(epochs=500, lr=None, optimizer="cg")
    out = train(LINEAR, X, y, cg, progress=lambda steps, total=None: calls.append((steps, total)))
    taken = len(out.history) - 1
    assert sum(s for s, _ in calls) == taken and calls[-1] == (0, taken) and T.planned_steps(len(X), cg) == 500

    monkeypatch.setattr(T, "SCREEN_ROWS", 300)
    calls.clear()
    cfg = TrainConfig(epochs=30, lr=0.03, restarts=4)
    train(TWO_RELU, X, y, cfg, progress=lambda steps, total=None: calls.append((steps, total)))
    assert T.planned_steps(len(X), cfg) == 60 == sum(s for s, _ in calls)
    assert all(total is None for _, total in calls)


def test_the_screened_best_goes_on_with_its_optimizers_state(lesson_fit, monkeypatch):
    """No restart of Adam between the sample and every row: its first step would jump by
    about lr in every weight, uphill."""
    import titanic_reg.train as T

    monkeypatch.setattr(T, "SCREEN_ROWS", 300)
    out = train(TWO_RELU, lesson_fit.X, lesson_fit.y, TrainConfig(epochs=200, lr=0.03, restarts=8, seed=4))
    assert out.screen == {"rows": 300, "steps": 200, "sample_mse": out.screen["sample_mse"]}
    assert max(out.history[:5]) <= out.history[0] * (1 + 1e-3)
    # conjugate gradient never screens, however many starts and rows
    cg = train(LINEAR, lesson_fit.X, lesson_fit.y, TrainConfig(epochs=50, lr=None, optimizer="cg", restarts=3))
    assert cg.screen is None and len(cg.restart_losses) == 3


@pytest.mark.slow
def test_the_background_worker_gives_the_in_process_baselines(lesson_fit):
    """The command fits the scikit-learn baselines in a second process: the same numbers,
    and the same warnings, as fitting them here; a worker that cannot answer falls back."""
    import warnings

    from titanic_reg import baselines
    from titanic_reg.background import Worker

    X, y = lesson_fit.X.numpy(), lesson_fit.y.numpy()
    job = dict(X_train=X[:600], y_train=np.zeros(600), X_valid=X[600:], y_valid=y[600:], X_test=X[:7], seed=3,
               rules=lesson_fit.recipe.baselines, features=lesson_fit.features)
    with warnings.catch_warnings(record=True) as here:
        warnings.simplefilter("always")
        expected = baselines.fit_and_predict(**job)
    with Worker() as worker, warnings.catch_warnings(record=True) as there:
        warnings.simplefilter("always")
        worker.submit(job)
        scores, test = worker.result()
    timings = ("fit_seconds", "predict_ms_per_1000")
    strip = lambda s: {k: {f: v for f, v in m.items() if f not in timings} for k, m in s.items()}  # noqa: E731
    assert strip(scores) == strip(expected[0])
    assert all((a is None and b is None) or np.array_equal(a, b) for a, b in zip(test.values(), expected[1].values()))
    assert [str(w.message) for w in there] == [str(w.message) for w in here]  # one class: no logistic regression
    assert "sklearn_logistic cannot be fitted" in str(there[0].message) and test["sklearn_logistic"] is None

    broken = Worker()
    broken.close()  # no process to answer: computed here
    broken.submit(job)
    assert strip(broken.result()[0]) == strip(expected[0])


@pytest.mark.slow
def test_the_background_worker_draws_loss_png_as_this_process_would(lesson_fit, tmp_path):
    from titanic_reg import report
    from titanic_reg.background import Worker

    X, y = lesson_fit.X.numpy(), lesson_fit.y.numpy()
    plot = report.loss_plot(lesson_fit)
    with Worker() as worker:
        worker.submit(dict(X_train=X, y_train=y, X_valid=X[:0], y_valid=y[:0], X_test=None, seed=1))
        worker.result()
        worker.draw(plot)
        worker.drawn(tmp_path / "there.png")
    report.draw_loss(plot, tmp_path / "here.png")
    there = (tmp_path / "there.png").read_bytes()
    assert there[:8] == b"\x89PNG\r\n\x1a\n" and there == (tmp_path / "here.png").read_bytes()


@pytest.mark.parametrize("rows,restarts", [(712, 128), (5000, 128)])
def test_training_runs_on_one_thread_whatever_its_size(lesson_fit, monkeypatch, rows, restarts):
    """Issue 21: a step of 128 starts on 4,096 rows (past the old "a million numbers" rule)
    took torch's default threads, whose barriers made it 5 to 10 times slower on a loaded
    machine. Every step is now on one thread, and torch's own setting is restored after."""
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    X = lesson_fit.X[torch.arange(rows) % len(lesson_fit.X)]
    y = lesson_fit.y[torch.arange(rows) % len(lesson_fit.X)]
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    seen = []
    try:
        out = train(TWO_RELU, X, y, TrainConfig(epochs=3, lr=0.03, restarts=restarts),
                    progress=lambda steps, total=None: seen.append(torch.get_num_threads()))
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    assert (out.screen is not None) == (rows > 4096)
    assert seen and set(seen) == {1}


def test_omp_num_threads_leaves_torchs_threads_to_the_user(lesson_fit, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    seen = []
    try:
        train(TWO_RELU, lesson_fit.X, lesson_fit.y, TrainConfig(epochs=2, lr=0.03, restarts=4),
              progress=lambda steps, total=None: seen.append(torch.get_num_threads()))
    finally:
        torch.set_num_threads(before)
    assert set(seen) == {2}

"""The choices and limits that the code enforces and `titanic-reg --help` states, each
defined once. Imports nothing: the command line reads them without loading torch or
pandas, and pipeline and lesson take them from here.
"""

# fit (titanic_reg.pipeline)
OPTIMIZER_CHOICES = ("auto", "sgd", "momentum", "adam")
BASELINE_CHOICES = ("all", "none")  # none: the recipe's rules only, without scikit-learn
MAX_EPOCHS = 100_000
MAX_RESTARTS = 1024
MAX_DESCENT_STEPS = 1000  # rows of each Descent sheet
MAX_SEED = 2**32 - 1

# The lesson's quadratic (titanic_reg.lesson, `titanic-reg lesson quad`)
LESSON_LR = 0.1  # the lesson uses 0.01 (2,695 steps to converge); 0.1 converges in 261 (see lesson.fit_quad)
LESSON_MAX_STEPS = 3000  # enough for the lesson's lr 0.01; the workbook's Descent sheet has a row per step
# --max-steps takes up to LESSON_STEPS_LIMIT, one Descent row each: --lr from 0.003 (9,007
# steps) to LESSON_LR_LIMIT converges within it. The descent diverges above lesson._lr_limit
# on the lesson's points, LESSON_DIVERGES to 4 places, which --help states without torch.
# tests/test_lesson.py checks each of these numbers against the descent itself.
LESSON_STEPS_LIMIT = 10_000
LESSON_LR_LIMIT = 0.22
LESSON_DIVERGES = 0.2215

# What one fit may take on, checked before any work that grows with it (issue 21)
MAX_MODELS = 32  # --models: each model trains for its own seconds; a list of thousands ran for minutes
# A classes target's classes (one output each): past it, the target is refused with its count.
# 50 is five times the digits' 10, and a softmax over more is rarely what a table's column means.
MAX_CLASSES = 50
MAX_LEVELS = 1_000  # a category's kept levels (top, or fixed levels): one feature each
MAX_FEATURES = 20_000  # an image's 16,384 pixels (images.MAX_PIXELS) and some columns beside them
MAX_MATRIX_NUMBERS = 250_000_000  # rows x features of the float64 feature matrix: 2 GB
# The workbook: rows x columns of its widest row-per-row sheet (the Data sheet, or a model's).
# A million Titanic rows made a 130 MB workbook that verify refuses; 80,000 (1.7 million
# cells) a 34 MB one it refuses too, for its two-ReLU array formula of 160,000 cells (past
# sheets.verify.MAX_ARRAY_CELLS). 1,000,000 (47,619 Titanic rows) keeps that formula below.
MAX_SHEET_CELLS = 1_000_000

LESSON_START = (1.5, 1.5, 1.5)  # lesson.START: a, b, c before the first step
# --start's largest |a|, |b|, |c|: beyond about 1e150 the loss at the start is already infinite,
# and far below that the descent needs more steps than --max-steps takes.
LESSON_START_LIMIT = 1e6

# Input numbers (titanic_reg.data) and a recipe's constant baseline: larger magnitudes are
# refused, so that a square (a variance, a squared error) stays finite in float64 (below
# 1.8e308) with room for sums over many rows.
MAX_MAGNITUDE = 1e150
MAGNITUDE_TEXT = f"{MAX_MAGNITUDE:.0e}".replace("e+", "e")  # 1e150, as messages say it

# A recipe's name names its workbook, <name>.xlsx. A file name is at most 255 bytes, and
# titanic_reg.atomic writes it first as .<name>.<pid>.<random>.tmp.xlsx, 27 characters more
# today: 200 leaves room. (Names are ASCII: recipe._NAME.)
MAX_NAME = 200

# The most rows a workbook holds (fit --sheet-rows, Result.to_excel's max_rows): past it, a sample.
SHEET_ROWS = (10, 1_000_000)
# verify's seconds per engine, by default: Gnumeric took 2.5 minutes on scikit-learn's digits'
# default workbook (10 classes, its Descent sheets redo every step over the rows), LibreOffice
# 51 s; a limit is still there for an engine that hangs.
VERIFY_TIMEOUT = 600.0

"""Write lesson 4's data files: three Gaussian clusters as train.csv and test.csv.

Run once from the course root with ``python -m grader.make_lesson4_data``; the files are
committed with the lesson, so students and the autograder read the same points. The sizes
follow seed document 000: 210 training rows and 90 test rows, 70 and 30 per class.
"""

from pathlib import Path

from course.datasets import as_generator, gaussian_clusters, save_labelled_csv

SEED = 1024
TRAIN_PER_CLASS = 70
TEST_PER_CLASS = 30
LESSON_DIR = Path(__file__).resolve().parents[1] / "source" / "lesson4"


def write_lesson4_data(folder: Path = LESSON_DIR, seed: int = SEED) -> tuple[Path, Path]:
    """Draw the training and test clusters from one seeded generator and save them.

    Returns the paths of train.csv and test.csv (rows ``x, y, label``, no header).
    """
    rng = as_generator(seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = folder / "train.csv", folder / "test.csv"
    for path, per_class in zip(paths, (TRAIN_PER_CLASS, TEST_PER_CLASS)):
        X, y = gaussian_clusters(rng, points_per_class=per_class)
        save_labelled_csv(path, X, y)
    return paths


if __name__ == "__main__":
    for written in write_lesson4_data():
        print(f"wrote {written}")

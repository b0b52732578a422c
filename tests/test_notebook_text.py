"""What the notebooks' text tells a student: math that renders, no maintainers' plumbing, and the
figures it quotes equal to the outputs printed under them.

Math. In a markdown cell a backslash followed by a letter starts a LaTeX command (``\\sum``). Two
backslashes before a letter (``\\\\sum``, what a string escaped once too often leaves) render as a
line break followed by the plain word: the student reads an italic *sum*. The rule: ``\\\\``
immediately followed by a letter fails. ``\\\\`` followed by anything else (a space, a newline, a
bracket) is LaTeX's line break inside an environment, as in
``\\begin{pmatrix} 0 & R \\\\ R^\\top & 0 \\end{pmatrix}``, and passes.

Plumbing. The text is for students: no test files, test runners, make targets, CI or commit history
(PLUMBING lists the words and why each is out).

Figures. FIGURES lists the numbers and comparisons the conclusions quote, each with the regular
expression that finds it in the markdown and the one that finds the printed figure in the outputs
of the committed run. A quoted number must be the printed one rounded (half a unit of the last
quoted digit, plus half a unit of the last printed one; whole numbers such as epochs exactly).
Figures of trained models move a little when a notebook is re-run, even with its seed: the text
quotes them as approximations ("about 0.40") or as comparisons, and the entries allow for that.
When a re-run moves a figure beyond that, the failure names the notebook and the sentence to
update; when a sentence is reworded, update its entry here. The markdown is matched with its
whitespace collapsed, so re-wrapping a paragraph changes nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
ALL_NOTEBOOKS = SOLUTIONS + sorted((ROOT / "notebooks").glob("*.ipynb"))

DOUBLED_BACKSLASH = re.compile(r"\\\\[A-Za-z]")

# (pattern, why a student should not meet it), matched case-sensitively against every markdown cell
PLUMBING = [
    (r"tests/", "a test file of the repository: say what is true, not where it is tested"),
    (r"\bpytest\b", "the test runner"),
    (r"\bnbval\b", "the notebook test plugin"),
    (r"\bmake (?:freeze|test|student|lint|lab)\b|tasks\.py", "a maintainers' command"),
    (r"\bCI\b", "continuous integration"),
    (r"\bgit\b|\bcommit(?:s|ted)?\b(?!\s+to\b)", "the repository's history"),
    (r"\bparity (?:tests?|suite)\b|\bthe tests\b", "the test suite"),
    (r"bench/|SEEDS\.md", "the maintainers' benchmarks: give the figure or the experiment to run instead"),
    (r"\bissue (?:\d+|target)\b", "the issue tracker"),
]


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _markdown(path: Path) -> list[tuple[str, str]]:
    """(cell id, source) of every markdown cell."""
    return [(cell.get("id", str(index)), "".join(cell["source"]))
            for index, cell in enumerate(_cells(path)) if cell["cell_type"] == "markdown"]


def _printed(path: Path) -> str:
    """Every text output of the code cells, in order: streams and the plain-text form of results."""
    parts = []
    for cell in _cells(path):
        for output in cell.get("outputs", []):
            if output["output_type"] == "stream":
                parts.append("".join(output["text"]))
            elif output["output_type"] in ("execute_result", "display_data"):
                parts.append("".join(output.get("data", {}).get("text/plain", "")))
    return "\n".join(parts)


def _solution(notebook: str) -> Path:
    matches = [path for path in SOLUTIONS if path.name.startswith(f"{notebook}_")]
    assert len(matches) == 1, f"no single solution notebook {notebook}_*.ipynb: {matches}"
    return matches[0]


def _short(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


# ----------------------------------------------------------------------------- math
@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=_short)
def test_math_has_no_doubled_backslash_before_a_command(path):
    problems = [f"cell {cell_id}: ...{source[max(0, m.start() - 30):m.end() + 20]!r}..."
                for cell_id, source in _markdown(path) for m in DOUBLED_BACKSLASH.finditer(source)]
    assert not problems, (f"{_short(path)}: '\\\\' before a letter renders as a line break and a plain word; "
                          "write one backslash:\n" + "\n".join(problems))


def test_the_math_rule_tells_a_line_break_from_a_doubled_command():
    assert DOUBLED_BACKSLASH.search(r"$DCG = \\sum_j rel_j$")
    assert DOUBLED_BACKSLASH.search(r"$\\log_2(j+1)$")
    assert not DOUBLED_BACKSLASH.search(r"$\sum_j rel_j / \log_2(j+1)$")
    assert not DOUBLED_BACKSLASH.search(r"\begin{pmatrix} 0 & R \\ R^\top & 0 \end{pmatrix}")
    assert not DOUBLED_BACKSLASH.search("\\begin{cases} 0 & j \\le i \\\\\n -\\infty & j > i \\end{cases}")


# ----------------------------------------------------------------------------- plumbing
@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=_short)
def test_text_shows_students_no_maintainers_plumbing(path):
    problems = []
    for cell_id, source in _markdown(path):
        for pattern, why in PLUMBING:
            for match in re.finditer(pattern, source):
                line = source[source.rfind("\n", 0, match.start()) + 1:].split("\n", 1)[0]
                problems.append(f"cell {cell_id}: {match.group()!r} ({why}) in: {line.strip()}")
    assert not problems, f"{_short(path)} speaks to maintainers, not students:\n" + "\n".join(problems)


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").glob("*.ipynb")), ids=_short)
def test_student_code_cells_show_no_maintainers_plumbing(path):
    """The code a student reads (comments included; the hidden tests are not in their copy)."""
    problems = []
    for index, cell in enumerate(_cells(path)):
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        for pattern, why in PLUMBING:
            for match in re.finditer(pattern, source):
                line = source[source.rfind("\n", 0, match.start()) + 1:].split("\n", 1)[0]
                problems.append(f"cell {index}: {match.group()!r} ({why}) in: {line.strip()}")
    assert not problems, f"{_short(path)} speaks to maintainers, not students:\n" + "\n".join(problems)


@pytest.mark.parametrize("text", ["Part 3 tests the model on users it never saw.",
                                  "Commit to one split, and commit to it before you look at the test set.",
                                  "the grader fits your class again", "a CIFAR-like benchmark"])
def test_plumbing_patterns_leave_ordinary_text_alone(text):
    assert not [pattern for pattern, _ in PLUMBING if re.search(pattern, text)]


# ----------------------------------------------------------------------------- figures
@dataclass(frozen=True)
class Quote:
    """The numbers the ``sentence`` quotes (one group each) are the printed ones (``outputs``, one
    regex per group, group 1 the number), rounded as quoted; ``scales`` multiplies the printed
    numbers (100 for a share printed as 0.1891 and quoted as 19%), 1 where it is left out;
    ``about`` widens the tolerance of a number the text calls approximate ("about 0.40"), so that a
    seeded re-run, which moves trained models a little, does not falsify it."""

    notebook: str
    sentence: str
    outputs: tuple[str, ...]
    scales: tuple[float, ...] = ()
    about: tuple[float, ...] = ()

    def __str__(self) -> str:
        return f"{self.notebook}: {self.sentence[:60]}"


@dataclass(frozen=True)
class Claim:
    """A comparison the ``sentence`` states in words (``says``) holds for the printed numbers."""

    notebook: str
    sentence: str
    outputs: tuple[str, ...]
    holds: Callable[..., bool]
    says: str

    def __str__(self) -> str:
        return f"{self.notebook}: {self.says}"


def _decimals(number: str) -> int:
    return len(number.split(".")[1]) if "." in number else 0


def _near(printed: float, quoted: str, about: float = 0.0) -> bool:
    """Whether a printed number (four decimals at most) rounds to the ``quoted`` one, give or take ``about``."""
    return abs(printed - float(quoted)) <= 0.5 * 10 ** -_decimals(quoted) + 0.5e-4 + about + 1e-12


FIGURES: list[Quote | Claim] = [
    # 00 · data and evaluation: the baselines' conclusion
    Quote("00", r"Random is near zero \(NDCG@10 (\d\.\d+)\)[\s\S]*?more accurate on every metric \(NDCG@10 (\d\.\d+) "
                r"against (\d\.\d+)\)",
          (r"NDCG@10: Random (\d\.\d+)", r", ItemKNN (\d\.\d+)\.", r"NDCG@10: Random \S+, Popularity (\d\.\d+)")),
    Quote("00", r"\(hit rate (\d\.\d+)\)[\s\S]*?the same (\d+)% of the catalogue[\s\S]*?catalogue \((\d+\.\d)%\)",
          (r"^Popularity\s+(?:\S+\s+){5}(\d\.\d+)", r"Popularity covers (\d+\.\d)% of the catalogue",
           r"of the catalogue, ItemKNN (\d+\.\d)%")),
    # 01 · MLP basics and NCF
    Claim("01", r"each comes within 0\.05 of ItemKNN's NDCG@10 \(0\.386\)",
          (r"^ItemKNN\s+(\d\.\d+)", *(rf"^{re.escape(name)}\s+(\d\.\d+)" for name in (
              "GMF", "MLP", "NeuMF (PyTorch)", "HybridNeuMF", "NeuMF (TensorFlow)"))),
          lambda knn, *neural: _near(knn, "0.386") and all(knn - ndcg <= 0.05 for ndcg in neural),
          "ItemKNN's NDCG@10 is 0.386 and every neural model's lies within 0.05 of it"),
    Quote("01", r"GMF and NeuMF land close together \(NDCG@10 (\d\.\d+) and (\d\.\d+) here\)\s+and MLP below them",
          (r"^GMF\s+(\d\.\d+)", r"^NeuMF \(PyTorch\)\s+(\d\.\d+)")),
    Claim("01", r"The genre branch of the hybrid adds a little\s+accuracy \(about 0\.01 over NeuMF\)[\s\S]*?"
                r"\(coverage about 0\.05 lower\)",
          (r"^HybridNeuMF\s+(\d\.\d+)", r"^NeuMF \(PyTorch\)\s+(\d\.\d+)",
           r"^HybridNeuMF\s+(?:\S+\s+){4}(\d\.\d+)", r"^NeuMF \(PyTorch\)\s+(?:\S+\s+){4}(\d\.\d+)"),
          lambda hybrid, neumf, hybrid_coverage, neumf_coverage: 0.005 <= hybrid - neumf <= 0.015
          and 0.03 <= neumf_coverage - hybrid_coverage <= 0.07,
          "the hybrid's NDCG@10 is about 0.01 above NeuMF's and its coverage about 0.05 below"),
    Claim("01", r"they land within 0\.001 of each other\. NeuMF's validation curves flatten after about\s+five epochs, "
                r"while GMF's and MLP's climb until the ceiling of ten epochs or one epoch before it",
          (r"^NeuMF \(PyTorch\)\s+(\d\.\d+)", r"^NeuMF \(TensorFlow\)\s+(\d\.\d+)",
           r"GMF: best epoch (\d+) of", r"MLP: best epoch (\d+) of"),
          lambda torch, tf, gmf, mlp: abs(torch - tf) <= 0.001 and min(gmf, mlp) >= 9,
          "the NeuMF twins lie within 0.001, and GMF's and MLP's best epochs are at or next to the ceiling of 10"),
    Claim("01", r"\(NDCG@10 0\.367\): the two models make different mistakes\.\s+Two epochs of fine-tuning \(the best "
                r"of three\) lift it further, level with the hybrid and above\s+NeuMF from scratch, for one and a half "
                r"to two times",
          (r"Before fine-tuning, NeuMF = 0\.5 GMF \+ 0\.5 MLP: NDCG@10 (\d\.\d+)", r"^GMF\s+(\d\.\d+)", r"^MLP\s+(\d\.\d+)",
           r"; pre-trained (\d\.\d+) in", r"^HybridNeuMF\s+(\d\.\d+)", r"NDCG@10 from scratch (\d\.\d+) in",
           r"NDCG@10 from scratch \S+ in (\d+\.\d) s", r"; pre-trained \S+ in (\d+\.\d) s"),
          lambda mixture, gmf, mlp, pretrained, hybrid, scratch, scratch_seconds, pretrained_seconds:
          _near(mixture, "0.367") and mixture > max(gmf, mlp) and abs(pretrained - hybrid) <= 0.005 and pretrained > scratch
          and 1.3 <= pretrained_seconds / scratch_seconds <= 2.3,
          "the untrained mixture scores 0.367, above GMF and MLP; fine-tuned, it is within 0.005 of the hybrid and "
          "above NeuMF from scratch, for 1.5 to 2 times its training time"),
    # 02 · autoencoders
    Claim("02", r"the paper's recipe the validation NDCG levels off after about fifteen epochs and then drifts\s+down"
                r"[\s\S]*?flattens at a higher level, so its last epochs are also \(nearly\) its best",
          (r"no penalty: validation NDCG@10 best (\d\.\d+)", r"no penalty: validation NDCG@10 best \S+ \(epoch (\d+)\)",
           r"no penalty: validation NDCG@10 .*, last (\d\.\d+)", r"cosine decay: validation NDCG@10 best (\d\.\d+)",
           r"cosine decay: validation NDCG@10 .*, last (\d\.\d+)"),
          lambda best, epoch, last, regularized_best, regularized_last: 10 <= epoch < 40 and last < best
          and regularized_best > best + 0.01 and regularized_best - regularized_last < 0.002,
          "the paper's recipe peaks before the last epoch and ends lower; the regularized one peaks higher and ends "
          "at its best"),
    Claim("02", r"overtakes ItemKNN, the neighbourhood model that needs no\s+training \(NDCG@10 about 0\.40 against "
                r"0\.386; Mult-DAE comes close\)",
          (r"Mult-VAE (\d\.\d+) \(TensorFlow twin", r"NDCG@10: Popularity \S+, ItemKNN (\d\.\d+)", r"Mult-DAE (\d\.\d+)"),
          lambda vae, knn, dae: _near(vae, "0.40", 0.005) and _near(knn, "0.386") and vae > knn and 0 < knn - dae < 0.02,
          "Mult-VAE's NDCG@10 is about 0.40, above ItemKNN's 0.386, and Mult-DAE's a little below it"),
    Quote("02", r"by a wide margin \(NDCG@10 about (\d\.\d+) against (\d\.\d+)\), and ItemKNN too \(about (\d\.\d+)\)",
          (r"^Mult-VAE \(PyTorch\)\s+(\d\.\d+)\s+\S+\s+\S+\s+\d+\.0$", r"^Popularity\s+(\d\.\d+)\s+\S+\s+\S+\s+\d+\.0$",
           r"^ItemKNN\s+(\d\.\d+)\s+\S+\s+\S+\s+\d+\.0$"), about=(0.005, 0.0, 0.005)),
    # 03 · EASE
    Quote("03", r"by a wide\s+margin on NDCG \((\d\.\d+) against (\d\.\d+)\), but it covers less of the catalogue "
                r"\((\d+)% against (\d+)%\)",
          (r"NDCG@10: EASE (\d\.\d+)", r"NDCG@10: EASE \S+, ItemKNN (\d\.\d+)",
           r"^EASE \(NumPy\)\s+(?:\S+\s+){5}(\d\.\d+)", r"^ItemKNN\s+(?:\S+\s+){5}(\d\.\d+)"),
          (1, 1, 100, 100)),
    Claim("03", r"any \$\\lambda\$ from about 200 to 1000 is within a point of the\s+best NDCG",
          (r"^ndcg@10\s+(?:\S+\s+){3}(\d\.\d+)", r"^ndcg@10\s+(?:\S+\s+){4}(\d\.\d+)", r"^ndcg@10\s+(?:\S+\s+){5}(\d\.\d+)"),
          lambda at_200, at_500, at_1000: max(at_500 - at_200, at_500 - at_1000) < 0.01,
          "NDCG@10 at lambda 200 and 1000 lies within 0.01 of the best (500)"),
    Claim("03", r"Both lists start with Return of the Jedi, and seven of the ten films are in both",
          tuple(rf"^\d\s+{re.escape(title)} \((?:\+)?(\d\.\d+)\)" for title in (
              "Return of the Jedi (1983)", "Empire Strikes Back, The (1980)", "Raiders of the Lost Ark (1981)",
              "Godfather, The (1972)", "Toy Story (1995)", "Fargo (1996)", "Silence of the Lambs, The (1991)"))
          + (r"^0\s+Return of the Jedi \(1983\) \(\+(\d\.\d+)\)", r"^0\s+Return of the Jedi \(1983\) \((\d\.\d+)\)"),
          lambda *weights: True, "the EASE and ItemKNN lists both hold the seven films it names, Return of the Jedi first"),
    # 04 · two towers
    Claim("04", r"some runs stop on a dip, others are still at their\s+best at the ceiling of `POINTWISE_EPOCHS`",
          tuple(rf"{re.escape(name)}: \S+ s, best epoch (\d+) of" for name in (
              "ConcatMLP (PyTorch)", "ConcatMLP (TensorFlow)", "TwoTowerMLP (PyTorch)", "TwoTowerMLP (TensorFlow)"))
          + tuple(rf"{re.escape(name)}: \S+ s, best epoch \d+ of (\d+)" for name in (
              "ConcatMLP (PyTorch)", "ConcatMLP (TensorFlow)", "TwoTowerMLP (PyTorch)", "TwoTowerMLP (TensorFlow)")),
          lambda *epochs: max(epochs[:4]) == 8 and min(epochs[4:]) < 8,
          "one pointwise run stopped before the ceiling of 8 epochs, and one has its best epoch at 8"),
    Quote("04", r"about Popularity's level \((\d\.\d+) against (\d\.\d+)\), and so does width\s+with He weights at the same "
                r"small rate \((\d\.\d+)\)[\s\S]*?\((\d+) and (\d+) distinct films",
          (r"^\+ He init\s+(\d\.\d+)", r"^Popularity\s+\S+\s+\S+\s+(\d\.\d+)", r"^wide \+ He init, lr 0\.001\s+(\d\.\d+)",
           r"^\+ He init\s+(?:\S+\s+){3}(\d+)\.0\s+\S+$", r"^wide \+ He init, lr 0\.001\s+(?:\S+\s+){3}(\d+)\.0\s+\S+$")),
    Claim("04", r"well above Popularity \(about 0\.30, over 200 distinct films\)",
          (r"^wide \+ He init, lr 0\.003\s+(\d\.\d+)", r"^wide \+ He init, lr 0\.003\s+(?:\S+\s+){3}(\d+)\.0\s+\S+$"),
          lambda ndcg, distinct: _near(ndcg, "0.30", 0.005) and distinct > 200,
          "the wide He-initialized model at the larger rate scores about 0.30 with over 200 distinct films"),
    Claim("04", r"\*below\* on NDCG, at 10 as at 100, and only about matches Popularity's recall@100",
          (r"^TwoTowerRetrieval without logQ \(PyTorch\)\s+\d\.\d+\s+(\d\.\d+)\s+\d\.\d+$",
           r"^Popularity\s+\d\.\d+\s+(\d\.\d+)\s+\d\.\d+$",
           r"^TwoTowerRetrieval without logQ \(PyTorch\)\s+\S+\s+\S+\s+(\d\.\d+)\s+\S+\s+\S+\s+NaN$",
           r"^Popularity\s+\S+\s+\S+\s+(\d\.\d+)\s+\S+\s+\S+\s+NaN$",
           r"^TwoTowerRetrieval without logQ \(PyTorch\)\s+(\d\.\d+)\s+\d\.\d+\s+\d\.\d+$",
           r"^Popularity\s+(\d\.\d+)\s+\d\.\d+\s+\d\.\d+$"),
          lambda ndcg_100, popularity_100, ndcg_10, popularity_10, recall, popularity_recall:
          ndcg_100 < popularity_100 - 0.05 and ndcg_10 < popularity_10 / 2 and abs(recall - popularity_recall) < 0.02,
          "without logQ, NDCG@100 and NDCG@10 lie far below Popularity's and recall@100 within 0.02 of it"),
    Quote("04", r"the concatenation model \(about (\d\.\d+) and (\d\.\d+) for the two twins\) ranks a little better",
          (r"ConcatMLP \(PyTorch\): .* test NDCG@10 (\d\.\d+)", r"ConcatMLP \(TensorFlow\): .* test NDCG@10 (\d\.\d+)"),
          about=(0.005, 0.005)),
    Claim("04", r"ranks a little better than the retrieval model \(between 0\.34 and 0\.36\)[\s\S]*?ItemKNN \(0\.386\) still beats every two-tower model",
          (r"^ItemKNN\s+\S+\s+\S+\s+(\d\.\d+)", *(rf"^{re.escape(name)}: .* NDCG@10 (\d\.\d+)" for name in (
              "ConcatMLP (PyTorch)", "ConcatMLP (TensorFlow)", "TwoTowerRetrieval (PyTorch)", "TwoTowerRetrieval (TensorFlow)",
              "TwoTowerMLP (PyTorch)", "TwoTowerMLP (TensorFlow)"))),
          lambda knn, concat, concat_tf, retrieval, retrieval_tf, *towers: _near(knn, "0.386")
          and concat + concat_tf > retrieval + retrieval_tf and 0.335 <= min(retrieval, retrieval_tf)
          and max(retrieval, retrieval_tf) < 0.365 and knn > max(concat, concat_tf, retrieval, retrieval_tf, *towers),
          "the retrieval twins score between 0.34 and 0.36, below the concatenation twins, and ItemKNN (0.386) above "
          "every two-tower model"),
    # 05 · graph models
    Claim("05", r"The two LightGCN curves lie on top of each other[\s\S]*?here all three runs reach the ceiling of 60\s+"
                r"epochs[\s\S]*?MF-BPR's comes close to the\s+ceiling",
          (r"^LightGCN \(PyTorch\)\s+(?:\S+\s+){2}(\d\.\d+)", r"^LightGCN \(TensorFlow\)\s+(?:\S+\s+){2}(\d\.\d+)",
           *(rf"{re.escape(name)}: best validation ndcg@20 at epoch \d+ of (\d+)"
             for name in ("LightGCN (PyTorch)", "LightGCN (TensorFlow)", "MF-BPR (PyTorch)")),
           r"MF-BPR \(PyTorch\): best validation ndcg@20 at epoch (\d+)"),
          lambda torch, tf, *stopped_then_best: torch == tf and set(stopped_then_best[:3]) == {60}
          and stopped_then_best[3] >= 50,
          "the LightGCN twins agree to four decimals, every run stops at epoch 60, MF-BPR's best epoch is 50 or later"),
    Quote("05", r"\(about (\d\.\d+) to (\d\.\d+)\): LightGCN is MF[\s\S]*?beats LightGCN \((\d\.\d+)\), and EASE \(notebook 03\) "
                r"stays on top \((\d\.\d+)\)",
          (r"MF-BPR (\d\.\d+), GF-CF", r"NDCG@10: LightGCN (\d\.\d+) \(PyTorch\)", r"GF-CF (\d\.\d+), EASE",
           r", EASE (\d\.\d+), ItemKNN"), about=(0.005, 0.005, 0.0, 0.0)),
    Claim("05", r"one layer does not beat MF-BPR on MovieLens 100K; two and three\s+layers do",
          tuple(rf"^{k}\s+(\d\.\d+)\s+\d+\.0\s+\S+$" for k in (0, 1, 2, 3)),
          lambda k0, k1, k2, k3: k1 < k0 < min(k2, k3), "NDCG@10 with one layer is below MF-BPR's, with two and three above"),
    # 06 · latent factors
    Quote("06", r"best model \(RMSE (\d\.\d+) to about (\d\.\d+)\); the latent factors remove a good part of the rest "
                r"\(about (\d\.\d+)\s+on",
          (r"^Global mean\s+(\d\.\d+)", r"^BiasOnly \(PyTorch\)\s+(\d\.\d+)", r"^LatentFactor \(PyTorch\)\s+(\d\.\d+)"),
          about=(0.0, 0.005, 0.005)),
    Claim("06", r"frameworks give the same RMSE to four decimals",
          (r"^BiasOnly \(PyTorch\)\s+(\d\.\d+)", r"^BiasOnly \(TensorFlow\)\s+(\d\.\d+)",
           r"^LatentFactor \(PyTorch\)\s+(\d\.\d+)", r"^LatentFactor \(TensorFlow\)\s+(\d\.\d+)"),
          lambda bias_torch, bias_tf, factors_torch, factors_tf: bias_torch == bias_tf and factors_torch == factors_tf,
          "each pair of twins prints the same RMSE"),
    # 07 · BPR
    Quote("07", r"narrow band \((\d\.\d+) and (\d\.\d+)\), while NDCG@10, which looks\s+only at the top of the list, separates "
                r"them clearly \((\d\.\d+) and about (\d\.\d+)\)",
          (r"^Popularity\s+(\d\.\d+)\s+\d\.\d+\s+\d\.\d+$", r"^BPR-MF \(PyTorch\)\s+(\d\.\d+)\s+\d\.\d+\s+\d\.\d+$",
           r"^Popularity\s+\d\.\d+\s+\d\.\d+\s+(\d\.\d+)$", r"^BPR-MF \(PyTorch\)\s+\d\.\d+\s+\d\.\d+\s+(\d\.\d+)$"),
          about=(0.0, 0.0, 0.0, 0.005)),
    Claim("07", r"\(NDCG@10 about 0\.33 with 8 factors,\s+against 0\.226\)\. After ten epochs, accuracy still grows with D "
                r"up to the largest size tried \(about\s+0\.37 with 128 factors\), by less than 0\.02 for each doubling",
          tuple(rf"^{factors}\s+(\d\.\d+)\s+\d\.\d+$" for factors in (8, 16, 32, 64, 128)),
          lambda *ndcg: _near(ndcg[0], "0.33", 0.005) and _near(ndcg[-1], "0.37", 0.005)
          and all(0 < after - before < 0.02 for before, after in zip(ndcg, ndcg[1:], strict=False)),
          "NDCG@10 goes from about 0.33 (8 factors) to about 0.37 (128), rising by less than 0.02 with every doubling"),
    Claim("07", r"edges past ItemKNN on NDCG@10 \(about 0\.40 against 0\.386\)[\s\S]*?share of the catalogue\s+than "
                r"ItemKNN \(about 30% against 23%\)",
          (r"BPR-MF \(PyTorch\): .* test NDCG@10 (\d\.\d+)", r"^ItemKNN\s+\S+\s+\S+\s+(\d\.\d+)",
           r"^BPR-MF \(PyTorch\)\s+(?:\S+\s+){5}(\d\.\d+)\s+\S+$", r"^ItemKNN\s+(?:\S+\s+){5}(\d\.\d+)\s+\S+$"),
          lambda bpr, knn, bpr_coverage, knn_coverage: _near(bpr, "0.40", 0.005) and _near(knn, "0.386") and bpr > knn
          and abs(100 * bpr_coverage - 30) <= 2 and _near(100 * knn_coverage, "23"),
          "BPR-MF's NDCG@10 is about 0.40, above ItemKNN's 0.386, and its coverage about 30% against 23%"),
    # 08 · sequence models
    Quote("08", r"Popularity's MRR is about (\d\.\d+)[\s\S]*?against about (\d\.\d+) for\s+mean pooling",
          (r"^Popularity\s+(\d\.\d+)", r"^MeanPooling \(PyTorch\)\s+(\d\.\d+)"), about=(0.001, 0.002)),
    Claim("08", r"their MRR passes 0\.06[\s\S]*?land on\s+the same MRR \(mean pooling, GRU\) or 0\.001 apart "
                r"\(self-attention\)\. Most validation curves still rise\s+at the sixth epoch, the ceiling",
          tuple(rf"^{re.escape(name)}\s+(\d\.\d+)" for name in (
              "MeanPooling (PyTorch)", "MeanPooling (TensorFlow)", "GRU (PyTorch)", "GRU (TensorFlow)",
              "SelfAttention (PyTorch)", "SelfAttention (TensorFlow)"))
          + tuple(rf"^{re.escape(name)}\s+MRR .* best epoch (\d+) of" for name in (
              "MeanPooling (PyTorch)", "MeanPooling (TensorFlow)", "GRU (PyTorch)", "GRU (TensorFlow)",
              "SelfAttention (PyTorch)", "SelfAttention (TensorFlow)")),
          lambda pool, pool_tf, gru, gru_tf, attention, attention_tf, *best: pool == pool_tf and gru == gru_tf
          and _near(abs(attention - attention_tf), "0.001") and min(gru, gru_tf, attention, attention_tf) > 0.06 > pool
          and sum(epoch == 6 for epoch in best) >= 4,
          "GRU and self-attention pass 0.06 MRR and mean pooling not; the twins agree (self-attention 0.001 apart); "
          "four of six runs have their best epoch at the ceiling of 6"),
]


def _find_sentence(figure: Quote | Claim) -> re.Match:
    path = _solution(figure.notebook)
    # whitespace collapsed, so that re-wrapping a paragraph never breaks an entry
    found = [(cell_id, m) for cell_id, source in _markdown(path)
             for m in re.finditer(figure.sentence, " ".join(source.split()))]
    assert len(found) == 1, (f"{_short(path)}: the text should say /{figure.sentence}/ exactly once, found {len(found)}; "
                             "if the sentence was reworded, update its entry in FIGURES (tests/test_notebook_text.py)")
    return found[0][1]


def _printed_numbers(figure: Quote | Claim) -> list[str]:
    path = _solution(figure.notebook)
    printed = _printed(path)
    numbers = []
    for pattern in figure.outputs:
        match = re.search(pattern, printed, flags=re.MULTILINE)
        assert match, f"{_short(path)}: no output matches /{pattern}/ (was the cell re-run or its print changed?)"
        numbers.append(match.group(1))
    return numbers


@pytest.mark.parametrize("figure", [f for f in FIGURES if isinstance(f, Quote)], ids=str)
def test_quoted_figures_are_the_printed_ones(figure):
    sentence = _find_sentence(figure)
    quoted = sentence.groups()
    printed = _printed_numbers(figure)
    assert len(quoted) == len(printed), f"{figure}: {len(quoted)} quoted numbers, {len(printed)} output patterns"
    scales = figure.scales or (1.0,) * len(printed)
    abouts = figure.about or (0.0,) * len(printed)
    for said, shown, scale, about in zip(quoted, printed, scales, abouts, strict=True):
        exact = "." not in said and "." not in shown  # an epoch, a count: no rounding
        tolerance = about + (0.0 if exact else 0.5 * 10 ** -_decimals(said) + 0.5 * 10 ** -_decimals(shown) * scale
                             + 1e-12)
        assert abs(float(said) - float(shown) * scale) <= tolerance, (
            f"solutions/{_solution(figure.notebook).name} says {said} where the output shows {shown}; "
            f"update the sentence: {sentence.group(0)!r}")


@pytest.mark.parametrize("figure", [f for f in FIGURES if isinstance(f, Claim)], ids=str)
def test_claims_hold_for_the_printed_figures(figure):
    sentence = _find_sentence(figure)
    printed = _printed_numbers(figure)
    assert figure.holds(*map(float, printed)), (
        f"solutions/{_solution(figure.notebook).name} says {figure.says}, but the outputs show {printed}; "
        f"update the sentence: {sentence.group(0)!r}")


def test_every_figure_entry_names_a_notebook():
    assert {f.notebook for f in FIGURES} <= {path.name[:2] for path in SOLUTIONS}

"""Probes and judges of notebooks 05 to 08: the solutions pass, the stubs are not done, the mistakes students
make fail, and no failure message shows an expected value. The two challenges: the probe gets the grader's
training part only, and the judge scores what comes back as the library's own evaluation would."""

from __future__ import annotations

import functools
import math
import re

import numpy as np
import pytest

from course_lib.grading.judges import Context, Failed, exercises, judge, notebook_of, run_here
from course_lib.grading.probes import decode, encode
from tests.grading.judge_helpers import namespace_of

GRADE_IDS = {
    "nb05_propagation_tests": "05_graph_models",
    "nb05_gfcf_scores_tests": "05_graph_models",
    "nb05_challenge_tests": "05_graph_models",
    "nb06_latent_factor_net_tests": "06_latent_factors",
    "nb06_rmse_training_tests": "06_latent_factors",
    "nb07_bpr_loss_tests": "07_bpr",
    "nb07_triplet_sampler_tests": "07_bpr",
    "nb08_mean_pooling_tests": "08_sequence_models",
    "nb08_causal_attention_tests": "08_sequence_models",
    "nb08_challenge_tests": "08_sequence_models",
}
CHALLENGES = ("nb05_challenge_tests", "nb08_challenge_tests")

# --------------------------------------------------------------------------- the mistakes, as students write them

_PROPAGATE = '''
def propagate(adjacency, embeddings, n_layers):
    layers = [{first}]
    for _ in range(n_layers):
        layers.append(torch.sparse.mm(adjacency, layers[-1]))
    return {result}
'''

_GFCF = '''
def gfcf_scores(user_items, normalized, item_vectors, item_degrees, ideal_weight):
    linear = np.asarray((normalized.T @ (normalized @ user_items.T)).T)
    {ideal}
    return linear + {weight} * ideal
'''

_TOP_K = '''
class TopKModel:
    def fit(self, train):
        {fit}
        return self

    def score(self, user_ids):
        {score}
'''

_NETWORK = '''
class LatentFactorNet(nn.Module):
    def __init__(self, n_users, n_items, embedding_dim, global_mean):
        super().__init__()
        self.global_mean = {mean}
        self.user_factors = nn.Embedding(n_users, embedding_dim)
        self.item_factors = nn.Embedding(n_items, embedding_dim)
        self.user_bias = nn.Embedding(n_users, 1)
        self.item_bias = nn.Embedding(n_items, 1)
        {init}

    def forward(self, user_ids, item_ids):
        match = (self.user_factors(user_ids) * self.item_factors(item_ids)).sum(-1)
        {biases}
        return {result}
'''
_INIT = '''nn.init.normal_(self.user_factors.weight, std=0.1)
        nn.init.normal_(self.item_factors.weight, std=0.1)
        nn.init.zeros_(self.user_bias.weight)
        nn.init.zeros_(self.item_bias.weight)'''
_SQUEEZED = "biases = self.user_bias(user_ids).squeeze(-1) + self.item_bias(item_ids).squeeze(-1)"

_TRAINING = '''
def train_rating_network(network, train, test, epochs, learning_rate, batch_size, weight_decay):
    optimizer = torch.optim.Adam(network.parameters(), lr=learning_rate, weight_decay=weight_decay)
    users, items = torch.as_tensor(train.users), torch.as_tensor(train.items)
    ratings = torch.as_tensor(train.ratings, dtype=torch.float32)
    history = {{"train_rmse": [], "test_rmse": []}}

    def rmse_on(part):
        network.eval()
        with torch.no_grad():
            predictions = network(torch.as_tensor(part.users), torch.as_tensor(part.items))
            return ((predictions - torch.as_tensor(part.ratings)) ** 2).mean(){root}.item()

    for _ in range(epochs):
        network.train()
        order = torch.randperm(len(ratings))
        losses = []
        for start in range(0, {end}, batch_size):
            batch = order[start:start + batch_size]
            loss = {sign}((network(users[batch], items[batch]) - ratings[batch]) ** 2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        history["train_rmse"].append({train_value})
        history["test_rmse"].append({test_value})
    return history
'''

_BPR = '''
def bpr_loss(positive_scores, negative_scores):
    return {body}
'''

_SAMPLER = '''
def vectorized_triplets(matrix, n_samples, rng):
    n_items = matrix.shape[1]
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    picked = {pick}
    users, positives = rows[picked], matrix.indices[picked].astype(np.int64)
    keys = rows.astype(np.int64) * n_items + matrix.indices
    negatives = {draw}(0, {high}, size=n_samples)
    pending = np.arange(n_samples) if {reject} else np.arange(0)
    while len(pending):
        candidate_keys = users[pending] * n_items + negatives[pending]
        where = np.minimum(np.searchsorted(keys, candidate_keys), len(keys) - 1)
        pending = pending[keys[where] == candidate_keys]
        negatives[pending] = {draw}(0, {high}, size=len(pending))
    return users, positives, negatives
'''
_SAMPLER_RIGHT = dict(pick="rng.integers(0, matrix.nnz, size=n_samples)", draw="rng.integers", high="n_items",
                      reject="True")

_POOLING = '''
class MeanPoolingNet(nn.Module):
    def __init__(self, n_items, embedding_dim):
        super().__init__()
        self.item_embeddings = nn.Embedding(n_items + 1, embedding_dim{padding})
        self.output = nn.Linear(embedding_dim, n_items{extra})

    def forward(self, sequences):
        mask = (sequences > 0).float().unsqueeze(-1)
        total = self.item_embeddings(sequences).sum(1)
        return self.output({pooled})
'''

_ATTENTION = '''
def causal_attention(queries, keys, values):
    length, dim = queries.shape[1], queries.shape[-1]
    scores = queries @ keys.transpose(-1, -2){scale}
    allowed = torch.ones(length, length, dtype=torch.bool).{triangle}()
    weights = {weights}
    return weights @ values
'''
_MASKED = 'scores.masked_fill(~allowed, float("-inf"))'

_NEXT_ITEM = '''
class NextItemModel:
    def fit(self, train):
        self.n_items = train.n_items
        items = train.sequences[train.sequences > 0] - 1
        self.popularity = np.bincount(items, minlength=train.n_items).astype(float)
        return self

    def score(self, inputs):
        {score}
'''

WRONG: dict[str, dict[str, tuple[str, str]]] = {
    "nb05_propagation_tests": {
        "the last layer": ("propagate", _PROPAGATE.format(first="embeddings", result="layers[-1]")),
        "the sum of the layers": ("propagate", _PROPAGATE.format(first="embeddings",
                                                                 result="torch.stack(layers).sum(dim=0)")),
        "layer 0 left out": ("propagate", _PROPAGATE.format(first="embeddings",
                                                            result="torch.stack(layers[1:] or layers).mean(dim=0)")),
        "detached": ("propagate", _PROPAGATE.format(first="embeddings.detach()",
                                                    result="torch.stack(layers).mean(dim=0)")),
    },
    "nb05_gfcf_scores_tests": {
        "the linear filter only": ("gfcf_scores", _GFCF.format(ideal="ideal = 0.0", weight="ideal_weight")),
        "no degree scaling": ("gfcf_scores", _GFCF.format(ideal="ideal = user_items @ item_vectors @ item_vectors.T",
                                                          weight="ideal_weight")),
        "scalings swapped": ("gfcf_scores", _GFCF.format(
            ideal="ideal = (user_items * np.sqrt(item_degrees)) @ item_vectors @ item_vectors.T "
                  "* inverse_sqrt_degrees(item_degrees)", weight="ideal_weight")),
        "ideal_weight ignored": ("gfcf_scores", _GFCF.format(
            ideal="ideal = (user_items * inverse_sqrt_degrees(item_degrees)) @ item_vectors @ item_vectors.T "
                  "* np.sqrt(item_degrees)", weight="1.0")),
        "degrees changed in place": ("gfcf_scores", _GFCF.format(
            ideal="item_degrees **= 0.5\n    ideal = (user_items / item_degrees) @ item_vectors @ item_vectors.T "
                  "* item_degrees", weight="ideal_weight")),
    },
    "nb05_challenge_tests": {
        "popularity for everyone": ("TopKModel", _TOP_K.format(
            fit="self.counts = np.bincount(train.items, minlength=train.n_items).astype(float)",
            score="return np.tile(self.counts, (len(user_ids), 1))")),
        "user_ids ignored": ("TopKModel", _TOP_K.format(
            fit="from course_lib.closed_form import EASE\n        self.model_ = EASE(l2=500.0).fit(train)",
            score="return self.model_.score(np.arange(len(user_ids)))")),
        "scores transposed": ("TopKModel", _TOP_K.format(
            fit="from course_lib.closed_form import EASE\n        self.model_ = EASE(l2=500.0).fit(train)",
            score="return self.model_.score(user_ids).T")),
        "NaN scores": ("TopKModel", _TOP_K.format(
            fit="self.n_items = train.n_items",
            score="return np.full((len(user_ids), self.n_items), np.nan)")),
    },
    "nb06_latent_factor_net_tests": {
        "nn.Embedding's initialization": ("LatentFactorNet", _NETWORK.format(
            mean="float(global_mean)", init="pass", biases=_SQUEEZED, result="self.global_mean + biases + match")),
        "the global mean learned": ("LatentFactorNet", _NETWORK.format(
            mean="nn.Parameter(torch.tensor(float(global_mean)))", init=_INIT, biases=_SQUEEZED,
            result="self.global_mean + biases + match")),
        "the global mean forgotten": ("LatentFactorNet", _NETWORK.format(
            mean="float(global_mean)", init=_INIT, biases=_SQUEEZED, result="biases + match")),
        "bias columns not squeezed": ("LatentFactorNet", _NETWORK.format(
            mean="float(global_mean)", init=_INIT, biases="biases = self.user_bias(user_ids) + self.item_bias(item_ids)",
            result="self.global_mean + biases + match")),
        "detached": ("LatentFactorNet", _NETWORK.format(
            mean="float(global_mean)", init=_INIT, biases=_SQUEEZED,
            result="(self.global_mean + biases + match).detach()")),
    },
    "nb06_rmse_training_tests": {
        "the mean squared error": ("train_rating_network", _TRAINING.format(
            root="", end="len(order)", sign="", train_value="rmse_on(train)", test_value="rmse_on(test)")),
        "gradient ascent": ("train_rating_network", _TRAINING.format(
            root=".sqrt()", end="len(order)", sign="-", train_value="rmse_on(train)", test_value="rmse_on(test)")),
        "a running mean of the batch losses": ("train_rating_network", _TRAINING.format(
            root=".sqrt()", end="len(order)", sign="", train_value="float(np.mean(losses)) ** 0.5",
            test_value="rmse_on(test)")),
        "the last partial batch skipped": ("train_rating_network", _TRAINING.format(
            root=".sqrt()", end="len(order) - batch_size + 1", sign="", train_value="rmse_on(train)",
            test_value="rmse_on(test)")),
        "lists swapped": ("train_rating_network", _TRAINING.format(
            root=".sqrt()", end="len(order)", sign="", train_value="rmse_on(test)", test_value="rmse_on(train)")),
    },
    "nb07_bpr_loss_tests": {
        "sign reversed": ("bpr_loss", _BPR.format(
            body="torch.nn.functional.softplus(positive_scores - negative_scores).mean()")),
        "summed": ("bpr_loss", _BPR.format(
            body="-torch.nn.functional.logsigmoid(positive_scores - negative_scores).sum()")),
        "log of the sigmoid": ("bpr_loss", _BPR.format(
            body="-torch.log(torch.sigmoid(positive_scores - negative_scores)).mean()")),
        "clipped": ("bpr_loss", _BPR.format(
            body="-torch.log(torch.sigmoid(positive_scores - negative_scores).clamp(min=1e-7)).mean()")),
        "detached (.item())": ("bpr_loss", _BPR.format(
            body="torch.tensor(-torch.nn.functional.logsigmoid(positive_scores - negative_scores).mean().item())")),
    },
    "nb07_triplet_sampler_tests": {
        "never the last item": ("vectorized_triplets", _SAMPLER.format(**{**_SAMPLER_RIGHT, "high": "n_items - 1"})),
        "positives not rejected": ("vectorized_triplets", _SAMPLER.format(**{**_SAMPLER_RIGHT, "reject": "False"})),
        "the global generator": ("vectorized_triplets", _SAMPLER.format(**{**_SAMPLER_RIGHT,
                                                                           "draw": "np.random.randint"})),
        "users equally often": ("vectorized_triplets", _SAMPLER.format(**{
            **_SAMPLER_RIGHT, "pick": "(lambda u: matrix.indptr[u] + (rng.random(n_samples) * "
                                      "np.diff(matrix.indptr)[u]).astype(np.int64))(rng.integers(0, matrix.shape[0], "
                                      "size=n_samples))"})),
        "a Python loop": ("vectorized_triplets", '''
def vectorized_triplets(matrix, n_samples, rng):
    users, positives, negatives = [], [], []
    for _ in range(n_samples):
        entry = rng.integers(0, matrix.nnz)
        user = int(np.searchsorted(matrix.indptr, entry, side="right") - 1)
        seen = matrix.indices[matrix.indptr[user]:matrix.indptr[user + 1]]
        negative = rng.integers(0, matrix.shape[1])
        while negative in seen:
            negative = rng.integers(0, matrix.shape[1])
        users.append(user)
        positives.append(matrix.indices[entry])
        negatives.append(negative)
    return np.array(users), np.array(positives), np.array(negatives)
'''),
    },
    "nb08_mean_pooling_tests": {
        "divided by the padded length": ("MeanPoolingNet", _POOLING.format(
            padding=", padding_idx=0", extra="", pooled="total / sequences.shape[1]")),
        "a sum": ("MeanPoolingNet", _POOLING.format(padding=", padding_idx=0", extra="", pooled="total")),
        "padding averaged in": ("MeanPoolingNet", _POOLING.format(
            padding="", extra="", pooled="self.item_embeddings(sequences).mean(1)")),
        "0 / 0 for padding only": ("MeanPoolingNet", _POOLING.format(
            padding=", padding_idx=0", extra="", pooled="total / mask.sum(1)")),
        "a column for the padding": ("MeanPoolingNet", _POOLING.format(
            padding=", padding_idx=0", extra=" + 1", pooled="total / mask.sum(1).clamp(min=1.0)")),
        "detached": ("MeanPoolingNet", _POOLING.format(
            padding=", padding_idx=0", extra="", pooled="total / mask.sum(1).clamp(min=1.0)").replace(
            "return self.output(total / mask.sum(1).clamp(min=1.0))",
            "return self.output(total / mask.sum(1).clamp(min=1.0)).detach()")),
    },
    "nb08_causal_attention_tests": {
        "no mask": ("causal_attention", _ATTENTION.format(scale=" / dim ** 0.5", triangle="tril",
                                                          weights="scores.softmax(dim=-1)")),
        "masked scores set to 0": ("causal_attention", _ATTENTION.format(scale=" / dim ** 0.5", triangle="tril",
                                                                         weights="(scores * allowed).softmax(dim=-1)")),
        "not scaled": ("causal_attention", _ATTENTION.format(scale="", triangle="tril",
                                                             weights=_MASKED + ".softmax(dim=-1)")),
        "softmax over the queries": ("causal_attention", _ATTENTION.format(scale=" / dim ** 0.5", triangle="tril",
                                                                           weights=_MASKED + ".softmax(dim=-2)")),
        "the upper triangle": ("causal_attention", _ATTENTION.format(scale=" / dim ** 0.5", triangle="triu",
                                                                     weights=_MASKED + ".softmax(dim=-1)")),
    },
    "nb08_challenge_tests": {
        "popularity for everyone": ("NextItemModel", _NEXT_ITEM.format(
            score="return np.tile(self.popularity, (len(inputs), 1))")),
        "a column for the padding": ("NextItemModel", _NEXT_ITEM.format(
            score="return np.tile(np.r_[0.0, self.popularity], (len(inputs), 1))")),
        "NaN scores": ("NextItemModel", _NEXT_ITEM.format(
            score="return np.tile(self.popularity / 0.0 * 0.0, (len(inputs), 1))")),
    },
}

CASES = [(grade_id, mistake) for grade_id, mistakes in WRONG.items() for mistake in mistakes]


@functools.cache
def _solution(notebook: str) -> dict:
    return namespace_of(notebook)


def _answer(grade_id: str, mistake: str) -> dict:
    """The solution's namespace with one answer replaced by a mistake."""
    name, source = WRONG[grade_id][mistake]
    namespace = dict(_solution(GRADE_IDS[grade_id]))
    exec(compile(source, "<answer>", "exec"), namespace)  # noqa: S102 - the tests' own mistakes
    assert namespace[name] is not _solution(GRADE_IDS[grade_id])[name]
    return namespace


@functools.cache
def _context(dataset: str) -> Context:
    """One grading run's context (the data set, the split and the baseline computed once for the tests)."""
    return Context(dataset)


def _probed(grade_id: str, namespace: dict, context: Context) -> dict:
    """The probe's outputs, after the round trip the sandbox's outputs take."""
    probe, rule = exercises(notebook_of(grade_id))[grade_id]
    inputs = rule.inputs(context) if rule.inputs else {}
    return decode(encode(probe.run(namespace, inputs)))


def _judged(grade_id: str, namespace: dict, context: Context):
    """``run_here`` with a shared context: probe, outputs round trip, judge."""
    outputs = _probed(grade_id, namespace, context)
    judge(notebook_of(grade_id), grade_id, outputs, context)
    return outputs


# The outputs of the solution that are the library's answers (what a message must never print); the others
# are measurements of the answer itself (the RMSE before training) or item ids.
_EXPECTED_KEYS = {
    "nb05_propagation_tests": ("layers_1", "layers_2", "layers_3", "layers_4", "grad"),
    "nb05_gfcf_scores_tests": ("scores_0", "scores_1"),
    "nb06_latent_factor_net_tests": ("formula",),
    "nb06_rmse_training_tests": ("epoch_train", "epoch_test", "after_train", "after_test", "small_train", "small_test"),
    "nb07_bpr_loss_tests": ("value", "far", "grad_positive", "grad_negative"),
    "nb08_causal_attention_tests": ("out", "long"),
}


@functools.cache
def _expected_values(grade_id: str) -> tuple[float, ...]:
    if grade_id not in _EXPECTED_KEYS:      # item ids, ranks, properties: no number a message could show
        return ()
    probe, _ = exercises(GRADE_IDS[grade_id])[grade_id]
    outputs = decode(encode(probe.run(_solution(GRADE_IDS[grade_id]), {})))
    values = {float(v) for key in _EXPECTED_KEYS.get(grade_id, ()) for v in np.ravel(outputs[key])}
    return tuple(sorted(v for v in values if math.isfinite(v) and abs(v) >= 1e-3))


_NUMBER = re.compile(r"-?\d+\.(\d{3,})(?:e([-+]?\d+))?")


def _shown(message: str, values: tuple[float, ...], own: dict | None = None) -> list[str]:
    """The numbers of ``message`` (with 3 decimals or more) that are one of ``values`` as printed, but for
    those the answer itself returned (``own``: its outputs; a wrong answer may return an expected value of
    another case, and a message may show what came back)."""
    shown = []
    expected = np.asarray(values)
    returned = np.concatenate([np.ravel(v).astype(np.float64) for v in (own or {}).values()
                               if np.issubdtype(v.dtype, np.number)] or [np.zeros(0)])
    for match in _NUMBER.finditer(message):
        printed = float(match.group(0))
        exponent = int(match.group(2) or 0)
        tolerance = 0.5 * 10.0 ** (exponent - len(match.group(1))) * 1.0001
        if expected.size and np.any(np.abs(expected - printed) <= tolerance) \
                and not np.any(np.abs(returned - printed) <= tolerance):
            shown.append(match.group(0))
    return shown


# --------------------------------------------------------------------------- the tests

def test_every_exercise_has_its_probe_judge_and_two_mistakes():
    for grade_id, notebook in GRADE_IDS.items():
        assert notebook_of(grade_id) == notebook
        assert len(WRONG[grade_id]) >= 2, grade_id
    found = set().union(*(exercises(notebook) for notebook in set(GRADE_IDS.values())))
    assert found == set(GRADE_IDS)
    for grade_id, notebook in GRADE_IDS.items():
        probe, rule = exercises(notebook)[grade_id]
        assert (probe.visible is None) == (grade_id in CHALLENGES), grade_id
        assert (rule.inputs is not None) == (grade_id in CHALLENGES), grade_id
        assert set(probe.names) <= set(_solution(notebook)), grade_id


@pytest.mark.parametrize("grade_id", GRADE_IDS)
def test_the_solution_passes(grade_id):
    run_here(grade_id, _solution(GRADE_IDS[grade_id]))


@pytest.mark.parametrize("grade_id", CHALLENGES)
def test_the_solution_of_a_challenge_passes_on_the_synthetic_stand_in(grade_id):
    run_here(grade_id, _solution(GRADE_IDS[grade_id]), dataset="synthetic")


@pytest.mark.parametrize("grade_id", [g for g in GRADE_IDS if g not in CHALLENGES])
def test_the_visible_check_passes_on_the_solution(grade_id, capsys):
    probe, _ = exercises(GRADE_IDS[grade_id])[grade_id]
    probe.visible(_solution(GRADE_IDS[grade_id]), {})
    assert "passed" in capsys.readouterr().out or grade_id == "nb06_rmse_training_tests"


@pytest.mark.parametrize("grade_id", GRADE_IDS)
def test_the_stub_is_not_done(grade_id):
    with pytest.raises(NotImplementedError):
        run_here(grade_id, namespace_of(GRADE_IDS[grade_id], "notebooks"))


@pytest.mark.parametrize(("grade_id", "mistake"), CASES, ids=[f"{g}-{m}" for g, m in CASES])
def test_a_mistake_fails_without_showing_the_expected_values(grade_id, mistake):
    context = _context("ml-100k")
    outputs = _probed(grade_id, _answer(grade_id, mistake), context)
    with pytest.raises(Failed) as failure:
        judge(notebook_of(grade_id), grade_id, outputs, context)
    message = str(failure.value)
    assert message
    assert "hidden" not in message
    shown = _shown(message, _expected_values(grade_id), own=outputs)
    assert not shown, f"the message shows expected value(s) {shown}: {message}"


def test_the_expected_values_are_not_empty_where_the_judge_compares_numbers():
    for grade_id in _EXPECTED_KEYS:
        assert len(_expected_values(grade_id)) >= 3, grade_id
    assert _shown("got 1.2346 and 7.0", (1.23456,)) == ["1.2346"]
    assert _shown("got 1.2346 and 7.0", (1.2,)) == []
    assert _shown("got 1.2346 and 7.0", (1.23456,), own={"value": np.array([1.23459])}) == []


def test_a_message_shows_the_grader_s_reference_numbers_of_the_challenges_only():
    context = _context("ml-100k")
    with pytest.raises(Failed) as failure:
        _judged("nb05_challenge_tests", _answer("nb05_challenge_tests", "popularity for everyone"), context)
    from course_lib.grading.judges.nb05 import baseline_ndcg

    assert f"{baseline_ndcg(context):.4f}" in str(failure.value) and "ItemKNN" in str(failure.value)
    with pytest.raises(Failed) as failure:
        _judged("nb08_challenge_tests", _answer("nb08_challenge_tests", "popularity for everyone"), context)
    assert "MRR 0.0" in str(failure.value) and "below 0.04" in str(failure.value)


def test_a_challenge_that_runs_past_its_time_is_stopped(monkeypatch):
    from course_lib.grading.judges import nb05 as judge_nb05
    from course_lib.grading.probes import nb05 as probe_nb05

    monkeypatch.setattr(probe_nb05, "TOP_K_SECONDS", 1.0)
    monkeypatch.setattr(judge_nb05, "TOP_K_SECONDS", 1.0)
    namespace = dict(_solution("05_graph_models"))
    exec(compile(_TOP_K.format(fit="import time\n        time.sleep(30)", score="return None"), "<answer>", "exec"),
         namespace)  # noqa: S102
    with pytest.raises(Failed, match="did not finish within 1 s"):
        _judged("nb05_challenge_tests", namespace, _context("ml-100k"))


def test_the_challenge_inputs_are_the_training_part_only():
    import course_lib
    from course_lib import sequences
    from course_lib.grading.judges import nb05 as judge_nb05
    from course_lib.grading.judges import nb08 as judge_nb08

    context = _context("ml-100k")
    data = context.data()
    inputs = judge_nb05._challenge_inputs(context)
    train, test = course_lib.random_split(data, test_fraction=0.2, seed=judge_nb05.SPLIT_SEED)
    assert set(inputs) == {"users", "items", "ratings", "timestamps", "n_users", "n_items"}
    assert len(inputs["users"]) == len(train) < len(data)
    given = set((inputs["users"] * train.n_items + inputs["items"]).tolist())
    assert not given & set((test.users * train.n_items + test.items).tolist())
    inputs = judge_nb08._challenge_inputs(context)
    train, test = sequences.sequence_split(data, max_length=10, test_fraction=0.2, seed=42 + 9173)
    assert set(inputs) == {"sequences", "user_ids", "n_items", "test_inputs"}
    assert np.array_equal(inputs["sequences"], train.sequences)
    assert np.array_equal(inputs["test_inputs"], test.inputs)      # what a model reads: no target column
    assert inputs["test_inputs"].shape[1] == test.sequences.shape[1] - 1


def test_the_challenge_scores_are_the_library_s_evaluation():
    """The NDCG@10 and the MRR the judges compute from the probes' outputs are those of the former hidden
    tests (course_lib.checks' helpers, which evaluate the fitted model in the student's kernel)."""
    from course_lib.checks.graph_models import top_k_challenge_model_ndcg
    from course_lib.checks.sequence_models import next_item_challenge_mrr
    from course_lib.grading.judges import nb05 as judge_nb05
    from course_lib.grading.judges import nb08 as judge_nb08

    context = _context("synthetic")
    outputs = _judged("nb05_challenge_tests", _solution("05_graph_models"), context)
    reference = top_k_challenge_model_ndcg(_solution("05_graph_models")["TopKModel"], context.data(),
                                           seed=judge_nb05.SPLIT_SEED)
    assert judge_nb05.challenge_ndcg(outputs["top"], context) == pytest.approx(reference, abs=1e-12)
    outputs = _judged("nb08_challenge_tests", _solution("08_sequence_models"), context)
    reference = next_item_challenge_mrr(_solution("08_sequence_models")["NextItemModel"], context.data(),
                                        seed=judge_nb08.SPLIT_SEED, max_length=judge_nb08.MAX_LENGTH)
    assert judge_nb08.challenge_mrr(outputs["ranks"], context) == pytest.approx(reference, abs=1e-12)
    assert judge_nb08.JUDGES["nb08_challenge_tests"].check(outputs, context) == 1.0     # all the points


def test_item_ranks_follow_next_item_ranks():
    from course_lib.grading.judges.nb08 import valid_ranks
    from course_lib.grading.probes.nb08 import item_ranks
    from course_lib.sequences import next_item_ranks

    rng = np.random.default_rng(0)
    scores = rng.integers(0, 4, size=(6, 9)).astype(np.float32)           # many ties
    ranks = item_ranks(scores)
    for item in range(9):
        assert np.array_equal(ranks[:, item], next_item_ranks(scores, np.full(6, item)))
    assert valid_ranks(ranks)
    assert not valid_ranks(np.full((2, 9), 2))
    assert not valid_ranks(np.tile(np.arange(1, 10)[::-1] // 2 + 1, (2, 1)))


def test_a_probe_leaves_the_global_generators_as_they_were():
    import torch

    np.random.seed(3)  # noqa: NPY002 - the caller's state, to compare
    torch.manual_seed(3)
    before = (np.random.get_state()[1].copy(), torch.random.get_rng_state().clone())  # noqa: NPY002
    for grade_id, notebook in GRADE_IDS.items():
        if grade_id not in CHALLENGES:
            run_here(grade_id, _solution(notebook))
    assert np.array_equal(np.random.get_state()[1], before[0])  # noqa: NPY002
    assert torch.equal(torch.random.get_rng_state(), before[1])


@pytest.mark.parametrize(("target_rank", "share"), [(10, 1.0), (20, 0.5), (30, None)])
def test_the_sequence_challenge_earns_its_points_by_the_thresholds(target_rank, share):
    """MRR >= 0.06: all the points; >= 0.04: half of them (the former hidden test's 2 of 4); below: none."""
    from course_lib.grading.judges import nb08 as judge_nb08
    from course_lib.grading.probes.nb08 import item_ranks

    context = _context("synthetic")
    _, test = judge_nb08._split(context)
    scores = np.zeros((len(test), test.n_items))
    for row, target in enumerate(test.targets):                          # target_rank - 1 items above the target
        scores[row, [item for item in range(target_rank) if item != target][:target_rank - 1]] = 1.0
        scores[row, target] = 0.5
    outputs = {"timed_out": False, "seconds": 1.0, "batch_rows": len(test), "finite": True,
               "batch_shape": np.array([len(test), test.n_items]), "ranks": item_ranks(scores)}
    assert judge_nb08.challenge_mrr(outputs["ranks"], context) == pytest.approx(1 / target_rank)
    if share is None:
        with pytest.raises(Failed, match="below 0.04"):
            judge("08_sequence_models", "nb08_challenge_tests", outputs, context)
    else:
        assert judge("08_sequence_models", "nb08_challenge_tests", outputs, context) == share

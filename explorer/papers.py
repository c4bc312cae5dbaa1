"""Check the paper: the classic results the lessons reproduce, each cited once, beside what a run measured.

Each Check holds a source (authors, year, title, venue and the section the claim is from), the paper's task and
claim in words (a number only where it was read in the paper's text: see `verified`), and a rule that compares it
with the user's trained runs. Pure: no streamlit. Not the lessons (explorer/presets.py) nor their verdicts
(explorer/verdicts.py), whose measures the rules reuse; the Learn page and the lessons both read the checks here.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Callable, Sequence

from explorer import evaluate
from explorer.config import RunConfig
from explorer.tasks.language import corpus
from explorer.trainer import SAMPLE_EVERY
from explorer.verdicts import fmt, recall_accuracy

AGREES, NOT_YET, NOT_TRAINED = "agrees", "does not agree yet", "not trained yet"
Sample = tuple[int, float, str]  # (step, temperature, text) of a text sample taken while training


@dataclass(frozen=True)
class Source:
    authors: str
    year: int
    title: str
    venue: str  # journal, conference, arXiv id or blog
    where: str  # the section, experiment or table the claim is from
    verified: str  # where the claim's words (and any number) were read

    def cite(self) -> str:
        return f"{self.authors} ({self.year}), “{self.title}”, {self.venue}; {self.where}"


@dataclass(frozen=True)
class Outcome:
    status: str  # AGREES | NOT_YET | NOT_TRAINED
    measured: str  # what the run measured, in words and numbers


@dataclass(frozen=True)
class Check:
    key: str
    title: str
    source: Source
    task: str  # the paper's task, in words
    claim: str  # the paper's result; a number only as read in the paper
    rule: str  # what the run must show to agree, in words
    judge: Callable[[Sequence, Sequence[Sequence[Sample]]], Outcome]  # (trained runs, their text samples) -> Outcome
    lessons: tuple[str, ...] = ()  # presets that reproduce it
    tries: tuple[tuple[str, RunConfig], ...] = ()  # (label, config) the Learn card offers to train
    differs: str = ""  # how this app's setup differs from the paper's

    def outcome(self, runs: Sequence, samples: Sequence[Sequence[Sample]] = ()) -> Outcome:
        """The rule applied to trained runs; NOT_TRAINED when none is the kind the claim is about or none has trained."""
        return self.judge(runs, samples or [()] * len(runs))


def _first(runs, test):
    """The first run whose config passes `test`, else None."""
    return next((run for run in runs if test(run.config)), None)


def _untrained(what: str) -> Outcome:
    return Outcome(NOT_TRAINED, f"No trained {what} here yet.")


# -- Hochreiter & Schmidhuber 1997 ----------------------------------------------------------------------
LSTM_1997 = Source(
    "Sepp Hochreiter and Jürgen Schmidhuber", 1997, "Long Short-Term Memory", "Neural Computation 9(8):1735-1780",
    "abstract", "the abstract of doi:10.1162/neco.1997.9.8.1735 as scilit.net and scienceopen.com print it")
ADDING_1997 = dataclasses.replace(
    LSTM_1997, where="Experiment 4 (the adding problem)",
    verified="the task and its criterion in the authors' own text of the experiment, people.idsia.ch/~juergen/nipslstm/"
             "node4.html (their NIPS 9 paper, where it is Experiment 1)")

LONG_LAG = 50  # the longest lag a lesson here reproduces within its budget (lstm_memory)
RIGHT_SHARE = 0.95  # share of fresh sequences that must be right for "agrees" on the adding problem (ours)
# Their target is 0.5 + (X1 + X2)/4 with X in [-1, 1]; ours is Y1 + Y2 with Y = (X + 1)/2 in [0, 1]. Then
# 0.5 + (X1 + X2)/4 = (Y1 + Y2)/2: their target is half ours, so their 0.04 is 0.08 on ours.
PAPER_TOLERANCE = 0.04
ADDING_TOLERANCE = 2 * PAPER_TOLERANCE


def judge_long_lag(runs, samples=()) -> Outcome:
    lstm = _first(runs, lambda c: c.arch == "lstm" and c.task == "recall")
    if lstm is None or lstm.step == 0:
        return _untrained("LSTM on the recall task")
    T = lstm.config.seq_len
    if T - 1 < LONG_LAG:
        return Outcome(NOT_YET, f"Your LSTM's sequences are {T} steps long, so no key is {LONG_LAG} steps back: "
                                f"set Sequence length to {LONG_LAG + 1} or more.")
    accuracy = recall_accuracy(lstm, LONG_LAG)
    text = f"Your LSTM (step {lstm.step}): held-out accuracy {fmt(accuracy)} with the key {LONG_LAG}-{T - 1} steps back"
    rnn = _first(runs, lambda c: c.arch == "rnn" and c.task == "recall" and c.seq_len == T)
    if rnn is not None and rnn.step:
        text += f"; the RNN beside it {fmt(recall_accuracy(rnn, LONG_LAG))}"
    return Outcome(AGREES if accuracy >= 0.9 else NOT_YET, text + ".")


def judge_adding(runs, samples=()) -> Outcome:
    run = _first(runs, lambda c: c.task == "adding")
    if run is None or run.step == 0:
        return _untrained("run on the adding problem")
    errors = evaluate.adding_end_errors(run)
    share = float((errors < ADDING_TOLERANCE).mean())
    mse = float((errors ** 2).mean())
    return Outcome(AGREES if share >= RIGHT_SHARE else NOT_YET,
                   f"Your {run.config.arch.upper()} (T={run.config.seq_len}, step {run.step}): {share:.1%} of "
                   f"{len(errors):,} fresh sequences right (error under {ADDING_TOLERANCE:g}); MSE {fmt(mse)}, "
                   f"against {fmt(run.task.chance)} for always answering the mean.")


# -- Le, Jaitly & Hinton 2015 -------------------------------------------------------------------------------
IRNN_2015 = Source(
    "Quoc V. Le, Navdeep Jaitly and Geoffrey E. Hinton", 2015,
    "A Simple Way to Initialize Recurrent Networks of Rectified Linear Units", "arXiv:1504.00941",
    "abstract", "the abstract at ar5iv.labs.arxiv.org/html/1504.00941 and research.google.com/pubs/pub44961; the "
    "adding-problem experiment's text was not read")
TRAINS = 0.1  # IRNN's held-out MSE must fall below this share of chance (ours)
FAILS = 0.5  # a tanh twin's stays above this share of chance (ours)


def _is_irnn(c: RunConfig) -> bool:
    return c.arch == "rnn" and c.nonlinearity == "relu" and c.init == "identity" and c.task == "adding"


def _mse_share(run) -> float:
    return float((evaluate.adding_end_errors(run) ** 2).mean()) / run.task.chance


def judge_irnn(runs, samples=()) -> Outcome:
    """Each half the runs hold: the IRNN trains (MSE below TRAINS of chance), a tanh RNN on the adding problem of
    the same length fails (above FAILS). The Train page holds one run at a time, so often only one half is here."""
    irnn = _first(runs, _is_irnn)
    irnn = irnn if irnn is not None and irnn.step else None
    T = irnn.config.seq_len if irnn is not None else None
    tanh = _first(runs, lambda c: c.arch == "rnn" and c.nonlinearity == "tanh" and c.task == "adding"
                     and (T is None or c.seq_len == T))
    tanh = tanh if tanh is not None and tanh.step else None
    if irnn is None and tanh is None:
        return _untrained("IRNN (RNN, relu, identity init) or tanh RNN on the adding problem")
    parts, ok = [], True
    if irnn is not None:
        ratio = _mse_share(irnn)
        parts.append(f"your IRNN (T={T}, step {irnn.step}): held-out MSE {fmt(ratio)} of chance")
        ok = ok and ratio < TRAINS
    if tanh is not None:
        ratio = _mse_share(tanh)
        parts.append(f"your tanh RNN (T={tanh.config.seq_len}, step {tanh.step}): {fmt(ratio)} of chance")
        ok = ok and ratio > FAILS
    if irnn is None or tanh is None:
        parts.append(f"only the {'IRNN' if tanh is None else 'tanh'} half is tested")
    text = "; ".join(parts)
    return Outcome(AGREES if ok else NOT_YET, text[0].upper() + text[1:] + ".")


# -- Jozefowicz, Zaremba & Sutskever 2015; Chung, Gulcehre, Cho & Bengio 2014 --------------------------------
FORGET_2015 = Source(
    "Rafal Jozefowicz, Wojciech Zaremba and Ilya Sutskever", 2015,
    "An Empirical Exploration of Recurrent Network Architectures", "ICML 2015 (PMLR 37)", "abstract",
    "abstract: research.google.com/pubs/pub45473")
GRU_2014 = Source(
    "Junyoung Chung, Caglar Gulcehre, KyungHyun Cho and Yoshua Bengio", 2014,
    "Empirical Evaluation of Gated Recurrent Neural Networks on Sequence Modeling", "arXiv:1412.3555",
    "abstract (polyphonic music and speech signal modeling)",
    "abstract: gabormelli.com/RKB/2014_EmpiricalEvaluationofGatedRecur (the arXiv abstract)")
GAP = 0.05  # held-out accuracies closer than this are "comparable" (ours)
LEARNED = 0.9  # and the better one must have learned the task


def _gru_and_lstm(runs, lstm_test):
    gru = _first(runs, lambda c: c.arch == "gru" and not c.bidirectional)
    if gru is None:
        return None, None
    lstm = _first(runs, lambda c: c.arch == "lstm" and not c.bidirectional and c.task == gru.config.task
                     and c.seq_len == gru.config.seq_len and lstm_test(c))
    if lstm is None or not (gru.step and lstm.step) or gru.task.metric_name != "accuracy":
        return None, None
    return gru, lstm


def _compare(gru, lstm, bias_note: str) -> Outcome:
    g, l_ = gru.evaluate(), lstm.evaluate()
    ok = abs(g - l_) <= GAP and max(g, l_) >= LEARNED
    return Outcome(AGREES if ok else NOT_YET,
                   f"Your GRU {fmt(g)} and LSTM{bias_note} {fmt(l_)} held-out accuracy on {gru.config.task} "
                   f"(T={gru.config.seq_len}, steps {gru.step} and {lstm.step}): a gap of {fmt(abs(g - l_))}.")


def judge_forget_bias(runs, samples=()) -> Outcome:
    gru, lstm = _gru_and_lstm(runs, lambda c: c.forget_bias == 1.0)
    if gru is None:
        return _untrained("GRU beside an LSTM with forget-gate bias 1 (same task, accuracy)")
    return _compare(gru, lstm, " (forget-gate bias 1)")


def judge_gru_lstm(runs, samples=()) -> Outcome:
    gru, lstm = _gru_and_lstm(runs, lambda c: True)
    if gru is None:
        return _untrained("GRU beside an LSTM (same task, accuracy)")
    return _compare(gru, lstm, "")


# -- Karpathy 2015 ---------------------------------------------------------------------------------------------
KARPATHY_2015 = Source(
    "Andrej Karpathy", 2015, "The Unreasonable Effectiveness of Recurrent Neural Networks",
    "blog post, karpathy.github.io, 21 May 2015", "section “The evolution of samples while training”",
    "the post's source, github.com/karpathy/karpathy.github.io, _posts/2015-05-21-rnn-effectiveness.markdown")
STAGES = ("spaces", "short words", "longer words")
SPACE_BAND = (0.5, 1.5)  # a sample's share of spaces within this factor of the text's: the word-space structure (ours)
KNOWN = 0.5  # share of a sample's words of that length that are words of the text (ours)
MIN_WORDS = 3  # fewer words of a length than this say nothing about that length


def sample_stages(text: str, vocabulary: set[str], space_share: float) -> dict[str, bool]:
    """Which stages one sample shows: spaces at about the text's rate; short words (2-3 letters) and longer ones
    (5 or more) mostly words of the text."""
    stages = {"spaces": bool(text) and SPACE_BAND[0] <= text.count(" ") / len(text) / space_share <= SPACE_BAND[1]}
    words = re.findall(r"[a-z]+", text.lower())
    for stage, fits in (("short words", lambda w: 2 <= len(w) <= 3), ("longer words", lambda w: len(w) >= 5)):
        chosen = [w for w in words if fits(w)]
        stages[stage] = len(chosen) >= MIN_WORDS and sum(w in vocabulary for w in chosen) / len(chosen) >= KNOWN
    return stages


def first_steps(samples: Sequence[Sample], vocabulary: set[str], space_share: float) -> dict[str, int | None]:
    """The step of the first sample that shows each stage (None: none does)."""
    first: dict[str, int | None] = dict.fromkeys(STAGES)
    for step, _, text in sorted(samples):
        for stage, shown in sample_stages(text, vocabulary, space_share).items():
            if shown and first[stage] is None:
                first[stage] = step
    return first


def order_outcome(first: dict[str, int | None], earliest: int) -> tuple[str, str]:
    """(status, why) for the first steps of each stage: spaces strictly before short words, and longer words (if
    shown) not before short ones. `earliest` is the first sample's step: a stage already shown there came at an
    unknown earlier time, so an order that needs it cannot be told."""
    spaces, short, longer = (first[s] for s in STAGES)
    if spaces is None or short is None:
        return NOT_YET, "spaces and short words have not both appeared yet: train longer (or lower the temperature)"
    if short == earliest:
        return NOT_YET, "the first sample already shows short words, so the order cannot be told"
    if short <= spaces:
        return NOT_YET, "short words came no later than the spaces"
    if longer is not None and longer < short:
        return NOT_YET, "longer words came before short ones"
    return AGREES, "spaces first, then short words" + (", then longer ones" if longer is not None else "")


def judge_samples(runs, samples=()) -> Outcome:
    pairs = [(run, kept) for run, kept in zip(runs, samples) if run.task.writes_text and run.config.task == "text"]
    if not pairs or not pairs[0][1] or not pairs[0][0].step:
        return _untrained("character model on the text task with samples")
    run, kept = pairs[0]
    text = corpus()  # the text's words and its rate of spaces
    first = first_steps(kept, set(re.findall(r"[a-z]+", text)), text.count(" ") / len(text))
    status, why = order_outcome(first, min(step for step, _, _ in kept))
    seen = "; ".join(f"{stage} from step {step}" if step is not None else f"{stage} not yet" for stage, step in first.items())
    return Outcome(status, f"Your samples (one every {SAMPLE_EVERY} steps, at the temperature chosen): {seen}. "
                           f"{why[0].upper()}{why[1:]}.")


# -- the checks, in the order the Learn page shows them ----------------------------------------------------------
C = RunConfig
CHECKS: dict[str, Check] = {c.key: c for c in (
    Check("long_lag", "LSTM bridges long time lags", LSTM_1997,
          "artificial tasks where the input that matters comes long before the answer, among distractors",
          "“LSTM can learn to bridge minimal time lags in excess of 1000 discrete-time steps”; against the "
          "recurrent nets it is compared with, it “leads to many more successful runs, and learns much faster” "
          "(abstract).",
          f"Agrees when your LSTM names the key with held-out accuracy of at least 0.9 when it was shown {LONG_LAG} or "
          "more steps before the question.",
          judge_long_lag, lessons=("lstm_memory",),
          differs=f"A one-minute lesson on a laptop reaches {LONG_LAG} steps, twenty times fewer than the paper's 1000."),
    Check("adding", "The adding problem", ADDING_1997,
          "two of the values in a long sequence are marked; at the end, output their sum",
          f"“A sequence was processed correctly if the absolute error at the sequence end is below {PAPER_TOLERANCE:g}” "
          "(the experiment's criterion); LSTM solves the task.",
          f"Agrees when at least {RIGHT_SHARE:.0%} of fresh sequences are right by that criterion (the {RIGHT_SHARE:.0%} is "
          "this app's bar).",
          judge_adding,
          tries=(("LSTM on the adding problem", C(arch="lstm", task="adding", seq_len=50, hidden_size=64, lr=1e-2,
                                                  batch_size=64, clip_grad_norm=1.0, forget_bias=1.0, seed=1)),),
          differs=f"Their target is 0.5 + (X1 + X2)/4 with values in [-1, 1]; here it is the plain sum of values in "
                  f"[0, 1], which is exactly twice theirs, so their {PAPER_TOLERANCE:g} is {ADDING_TOLERANCE:g} here. Their "
                  "sequence lengths vary a little and their first mark is among the first ten steps; here the length is "
                  "fixed and one mark is anywhere in each half."),
    Check("irnn", "IRNN: a ReLU RNN started at the identity", IRNN_2015,
          "two toy problems with long-range structure (the adding problem among them), language modelling and "
          "speech recognition",
          "Key is “the use of the identity matrix or its scaled version to initialize the recurrent weight matrix” "
          "of an RNN of rectified linear units, and the result is “comparable to a standard implementation of "
          "LSTMs” on their four benchmarks (abstract). Their adding-problem experiment, with tanh RNNs beside it, was "
          "not checked here, so the card quotes no number from it.",
          f"Agrees when your IRNN's held-out MSE falls below {TRAINS:g} of chance, and a tanh RNN's on the adding "
          f"problem stays above {FAILS:g} of chance (each half judged when it is trained).",
          judge_irnn,
          tries=(("IRNN on the adding problem", C(arch="rnn", nonlinearity="relu", init="identity", task="adding",
                                                 seq_len=50, hidden_size=64, lr=1e-3, batch_size=64,
                                                 clip_grad_norm=1.0, seed=1)),
                 ("tanh RNN, the same otherwise", C(arch="rnn", task="adding", seq_len=50, hidden_size=64, lr=1e-3,
                                                    batch_size=64, clip_grad_norm=1.0, seed=1))),
          differs="Here Adam and a short run of your choice of length. The Train page holds one run at a time, so "
                  "the card judges the half you trained last; a lesson with both side by side does not exist yet."),
    Check("forget_bias", "Forget-gate bias 1", FORGET_2015,
          "an architecture search that “evaluated over ten thousand different RNN architectures” (abstract)",
          "“We found that adding a bias of 1 to the LSTM's forget gate closes the gap between the LSTM and the GRU” "
          "(abstract).",
          f"Agrees when your LSTM with forget-gate bias 1 and your GRU on the same task end within {GAP:g} held-out "
          f"accuracy of each other, the better one at {LEARNED:g} or more.",
          judge_forget_bias, lessons=("gru_vs_lstm",),
          differs="The lesson trains only the LSTM with bias 1: the gap without it is not measured here."),
    Check("gru_lstm", "GRU comparable to LSTM", GRU_2014,
          "polyphonic music and speech signal modeling",
          "“we found GRU to be comparable to LSTM” (abstract); both better than tanh units.",
          f"Agrees when your GRU and LSTM on the same task end within {GAP:g} held-out accuracy of each other, the "
          f"better one at {LEARNED:g} or more.",
          judge_gru_lstm, lessons=("gru_vs_lstm",),
          differs="Their tasks are music and speech; the lesson's is recall of a key, smaller by far."),
    Check("samples", "The order in which samples improve", KARPATHY_2015,
          "a character-level LSTM on War and Peace, sampled every 100 iterations",
          "The samples first show “words separated by spaces”, then spell “the shortest and most common words”, "
          "then longer ones: “the model first discovers the general word-space structure and then rapidly starts to "
          "learn the words; First starting with the short words and then eventually the longer ones.”",
          f"Agrees when your samples show spaces at about the text's rate ({SPACE_BAND[0]:g}-{SPACE_BAND[1]:g} times it) "
          f"before most of their 2-3 letter words are words of the text (at least {KNOWN:.0%}), and longer words "
          "(5+ letters), if they come, no earlier.",
          judge_samples, lessons=("text_generation",),
          differs=f"Pride and Prejudice instead of War and Peace, a far smaller model, and a sample every {SAMPLE_EVERY} "
                  "steps."),
)}


def for_lesson(name: str) -> list[Check]:
    """The checks a lesson reproduces, in CHECKS order."""
    return [check for check in CHECKS.values() if name in check.lessons]

"""Priority scoring: every class on real-looking turns, the cues that explain it, configurable weights."""

from __future__ import annotations

import pytest

from processors.priority import STATEMENT_CUE, CueScorer, PriorityClass, Scorer
from processors.stage_settings import PriorityWeights, ProcessorSettings
from schemas.events import Role

ERRORS = [
    "Traceback (most recent call last):\n  File \"app.py\", line 3, in <module>\nKeyError: 'user'",
    "The deploy failed again with exit code 137 after the OOM killer stepped in.",
    "npm ERR! code ERESOLVE: unable to resolve dependency tree",
    "pytest exited with code 2, the fixture crashed on import",
    "java.lang.NullPointerException at com.acme.Billing.charge(Billing.java:42)",
]
DECISIONS = [
    "We decided to keep Postgres and drop the Mongo experiment.",
    "OK, let's go with the blue-green rollout for Friday's release.",
    "I'll take the on-call rotation for the first week.",
    "We agreed to freeze the API until the audit is done.",
]
NEXT_STEPS = [
    "TODO: rotate the staging keys before the demo",
    "Tomorrow I will write the migration and send it for review.",
    "I plan to benchmark the 7B model against the 32B one next week.",
    "Next step: wire the consumer to the new topic.",
    "Can you have the report ready by Friday?",
]
FACTS = [
    "I'm 32.",
    "My daughter starts school in September.",
    "I've been living in Lisbon since 2019 and work at a bakery.",
    'Just finished reading "The Name of the Wind" - loved it.',
    "It's Shia Labeouf!",
    "They were awestruck and humbled.",
]
CHIT_CHAT = [
    "Hey Mel! Good to see you! How have you been?",
    "Thanks so much!",
    "ok",
    "Wow, that's awesome! Keep it up!",
    "🎉🎉",
    "Bye, talk to you soon!",
    "Congrats, John! I'm so proud of you!",
]


@pytest.mark.parametrize(
    ("texts", "expected", "score"),
    [
        (ERRORS, PriorityClass.ERROR, 1.0),
        (DECISIONS, PriorityClass.DECISION, 0.9),
        (NEXT_STEPS, PriorityClass.NEXT_STEP, 0.8),
        (FACTS, PriorityClass.FACT, 0.5),
        (CHIT_CHAT, PriorityClass.CHIT_CHAT, 0.1),
    ],
)
def test_each_class_on_real_looking_turns(texts: list[str], expected: PriorityClass, score: float) -> None:
    scorer = CueScorer()
    for text in texts:
        verdict = scorer.score(text)
        assert verdict.priority_class is expected, (text, verdict)
        assert verdict.score == score
        assert verdict.cues, f"no cue explains {text!r}"


def test_cues_name_what_fired() -> None:
    scorer = CueScorer()
    assert "error:traceback" in scorer.score(ERRORS[0]).cues
    assert "error:exit_code" in scorer.score(ERRORS[1]).cues
    assert "decision:go_with" in scorer.score(DECISIONS[1]).cues
    assert "next_step:todo" in scorer.score(NEXT_STEPS[0]).cues
    assert "next_step:deadline" in scorer.score(NEXT_STEPS[4]).cues
    fact = scorer.score("My daughter starts school in September.")
    assert {"fact:personal", "fact:date"} <= set(fact.cues)
    assert fact.information >= 3.0
    assert scorer.score("They were awestruck and humbled.").cues == ("fact:unmarked",)
    chit = scorer.score("Hey Mel! Thanks, that's awesome!")
    assert {"chit_chat:greeting", "chit_chat:thanks", "chit_chat:praise"} <= set(chit.cues)
    assert set(scorer.score("🎉🎉").cues) == {"chit_chat:emoji", "chit_chat:no_words"}


def test_highest_class_wins_and_stock_phrases_are_not_facts() -> None:
    scorer = CueScorer()
    both = scorer.score("We decided to roll back because the migration failed.")
    assert both.priority_class is PriorityClass.ERROR
    assert scorer.score("I'm so glad, I appreciate it, thank you!").priority_class is PriorityClass.CHIT_CHAT
    assert scorer.score("Thanks, Caroline!").information == 0.0  # an addressed name is no fact


def test_statement_cue_keeps_plain_statements_among_small_talk() -> None:
    scorer = CueScorer()
    verdict = scorer.score("Wow! The old lighthouse on the north shore was turned into a small museum.")
    assert STATEMENT_CUE in verdict.cues
    assert verdict.priority_class is PriorityClass.FACT
    assert STATEMENT_CUE not in scorer.score("Wow! You should definitely go and see the museum soon.").cues


def test_weights_and_thresholds_are_configurable() -> None:
    settings = ProcessorSettings(
        weights=PriorityWeights(error=0.95, fact=0.4, chit_chat=0.05),
        fact_min_information=3.0,
        cue_weights={"fact:date": 3.0},
    )
    scorer = CueScorer(settings)
    assert scorer.score(ERRORS[1]).score == 0.95
    assert scorer.score("Wow, I went there!").priority_class is PriorityClass.CHIT_CHAT  # 1 < 3
    last_week = scorer.score("Wow, we went there last week!")
    assert last_week.priority_class is PriorityClass.FACT
    assert last_week.score == 0.4


def test_tool_output_is_never_small_talk() -> None:
    verdict = CueScorer().score("ok", role=Role.TOOL, tool_name="bash")
    assert verdict.priority_class is PriorityClass.FACT
    assert "fact:tool_output:bash" in verdict.cues


def test_cue_scorer_satisfies_the_scorer_protocol() -> None:
    scorer: Scorer = CueScorer()
    assert scorer.score("We decided to ship it.").priority_class is PriorityClass.DECISION

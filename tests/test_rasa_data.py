"""Training data, domain and config are consistent (`rasa data validate`)."""
from __future__ import annotations

from rasa.shared.nlu.training_data.loading import load_data

from bot.normalize import normalize
from bot.config import PROJECT_ROOT

from .rasa_cli import rasa


def test_rasa_data_validate_is_clean():
    proc = rasa(["data", "validate", "--fail-on-warnings", "--config", "config.yml", "--domain", "domain.yml",
                 "--data", "data"], timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]


def test_heldout_set_does_not_overlap_training_data():
    train = {normalize(m.get("text")) for m in load_data(str(PROJECT_ROOT / "data" / "nlu")).training_examples}
    test = [normalize(m.get("text")) for m in load_data(str(PROJECT_ROOT / "tests/nlu/heldout.yml")).training_examples]
    overlap = [t for t in test if t in train]
    assert not overlap, f"{len(overlap)} held-out examples also appear in data/: {overlap[:10]}"


def test_every_service_intent_has_enough_examples():
    from collections import Counter

    from bot.assistant import intent_for
    from bot.catalog.loader import load_content
    from bot.config import CONTENT_DIR

    counts = Counter(m.get("intent") for m in load_data(str(PROJECT_ROOT / "data" / "nlu")).training_examples)
    service_intents = [intent_for(s.code) for s in load_content(CONTENT_DIR).services]  # one per catalogue service
    assert len(service_intents) >= 20
    thin = {i: counts[i] for i in service_intents if counts[i] < 30}
    assert not thin, thin

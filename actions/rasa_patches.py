"""Speed-ups for the Rasa server's side of a custom-action call (installed in the Rasa process).

Rasa 3.6 validates every action server response with ``jsonschema.validate(result,
schema)`` (``RemoteAction._validate_action_result``). That call checks the *schema*
against the JSON-Schema meta-schema before it checks the response, every time: about
30 ms of CPU per custom action on this machine, most of the difference between a turn
answered by a response template and a turn answered by an action (docs/performance.md).

:func:`install` replaces that method with one that checks the same response against the
same schema with a validator built once; a response that fails gets the same
``ValidationError`` (the best match, with Rasa's own hint appended), so Rasa behaves as
before in every case except speed.

Run the Rasa server through it with ``python -m actions.rasa_patches <rasa run options>``
(the options of ``python -m bot.rasa_server``), or call :func:`install` before Rasa starts.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Dict

_INSTALLED = "_minzheng_cached_validator"


@lru_cache(maxsize=1)
def response_validator():
    """A validator for ``RemoteAction.action_response_format_spec()``, built (and the schema
    checked) once."""
    from jsonschema import validators
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    cls = validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def validate_action_result(self, result: Dict[str, Any]) -> bool:
    """``RemoteAction._validate_action_result`` with the validator built once."""
    from jsonschema.exceptions import best_match
    from rasa.shared.constants import DOCS_BASE_URL

    error = best_match(response_validator().iter_errors(result))
    if error is not None:
        # the message Rasa 3.6 adds (rasa/core/actions/action.py)
        error.message += (
            f". Failed to validate Action server response from API, "
            f"make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit "
            f"{DOCS_BASE_URL}/custom-actions"
        )
        raise error
    return True


def install() -> bool:
    """Patch Rasa's RemoteAction; True when this call installed it (False: already there)."""
    from rasa.core.actions.action import RemoteAction

    if getattr(RemoteAction, _INSTALLED, False):
        return False
    RemoteAction._validate_action_result = validate_action_result
    setattr(RemoteAction, _INSTALLED, True)
    return True


def main() -> None:
    install()
    from bot.rasa_server import main as rasa_server_main

    rasa_server_main()


if __name__ == "__main__":
    main()

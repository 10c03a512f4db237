"""Speed fixes for Rasa 3.6: action-server responses, TensorFlow's per-call dispatch, loading
the model without tracing its training step, a kept-alive connection to the action server, and
slot copies.

Rasa 3.6 checks every action server response with `jsonschema.validate(result, spec)`. With
the jsonschema release Rasa pins (<4.18), that call first re-checks the spec against the JSON
Schema meta-schema and builds a new validator, every time: 9.7 ms per custom action call on a
2-core machine, 41% of the Rasa server's CPU on an order-lookup turn (two action calls). The
validator built once below checks the same schema with the same rules and raises the same
`ValidationError` (with the same extended message), in about 0.3 ms.

It is installed by the Rasa server's entry point (`python -m assistant`), not on import, and
only for the Rasa version it was written against.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

import aiohttp
import rasa
import tensorflow as tf
from jsonschema import ValidationError, validators
from jsonschema.exceptions import best_match
from jsonschema.protocols import Validator
from keras.utils import tf_utils
from rasa.core.actions.action import RemoteAction
from rasa.core.constants import DEFAULT_REQUEST_TIMEOUT
from rasa.shared.constants import DIAGNOSTIC_DATA, DOCS_BASE_URL
from rasa.shared.core.slots import Slot
from rasa.utils.endpoints import EndpointConfig
from rasa.utils.tensorflow.constants import LEARNING_RATE, RUN_EAGERLY
from rasa.utils.tensorflow.data_generator import RasaBatchDataGenerator
from rasa.utils.tensorflow.model_data import RasaModelData
from rasa.utils.tensorflow.models import RasaModel
from tensorflow.python.eager import context
from tensorflow.python.framework import ops

#: The Rasa release whose `RemoteAction._validate_action_result` this replaces.
PATCHED_RASA_VERSION = "3.6.21"


@lru_cache(maxsize=1)
def action_response_validator() -> Validator:
    """A validator for Rasa's action response spec, checked and built once."""
    spec = RemoteAction.action_response_format_spec()
    validator_class = validators.validator_for(spec)
    validator_class.check_schema(spec)
    return validator_class(spec)


@dataclass(frozen=True)
class EventCheck:
    """The action response spec checked the quick way: each event against its own kind only.

    The spec says an event is one of 23 kinds (`oneOf`), each kind's schema fixing `event` to
    its own name (`const`). A validator proves "exactly one" by checking every event against
    all 23. Since each kind accepts only its own name, an event with a name is valid exactly
    when it is valid against its own kind's schema, so that is the only one checked here.
    Anything this check refuses goes to the full validator, which gives the error.
    """

    #: The spec with the kinds left out of the events' schema.
    outline: Validator
    #: Each kind's schema, by the event name it accepts.
    kinds: dict[str, Validator]

    def is_valid(self, result: dict[str, Any]) -> bool:
        if not self.outline.is_valid(result):
            return False
        for event in result.get("events", ()):
            kind = self.kinds.get(event.get("event"))  # an object with a string `event` here
            if kind is None or not kind.is_valid(event):
                return False
        return True


@lru_cache(maxsize=1)
def event_check() -> EventCheck | None:
    """The quick check, or None if the spec is not shaped as `EventCheck` needs."""
    spec = copy.deepcopy(RemoteAction.action_response_format_spec())
    items = spec.get("properties", {}).get("events", {}).get("items", {})
    kinds = items.pop("oneOf", None)
    if not kinds or "event" not in items.get("required", ()):
        return None
    names = [kind.get("properties", {}).get("event", {}).get("const") for kind in kinds]
    if None in names or len(set(names)) != len(names) or "$ref" in json.dumps(spec):
        return None
    validator_class = validators.validator_for(spec)
    return EventCheck(
        outline=validator_class(spec),
        kinds={name: validator_class(kind) for name, kind in zip(names, kinds, strict=True)},
    )


def validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    """`RemoteAction._validate_action_result`, with the validator built once."""
    quick = event_check()
    if quick is not None and quick.is_valid(result):
        return True
    error = best_match(action_response_validator().iter_errors(result))
    if error is None:
        return True
    error.message += (
        ". Failed to validate Action server response from API, "
        "make sure your response from the Action endpoint is valid. "
        f"For more information about the format visit {DOCS_BASE_URL}/custom-actions"
    )
    raise error


def install_cached_action_response_validation() -> bool:
    """Installs the fix if Rasa is the version it was written for; returns whether it did."""
    if rasa.__version__ != PATCHED_RASA_VERSION:
        return False
    RemoteAction._validate_action_result = validate_action_result
    return True


__all__ = [
    "ValidationError",
    "action_response_validator",
    "copy_slot",
    "direct_rasa_predict",
    "event_check",
    "install_cached_action_response_validation",
    "install_direct_model_calls",
    "install_kept_alive_endpoints",
    "install_quick_model_load",
    "install_quick_slot_copies",
    "kept_session",
    "quick_model_load",
    "validate_action_result",
]


# --- TensorFlow's per-call dispatch -----------------------------------------------------------
#
# `RasaModel._rasa_predict` calls a `tf.function` built with a fixed `input_signature`, so it
# only ever has one concrete function. Each call still goes through TensorFlow's polymorphic
# dispatch: it canonicalises the arguments against the signature, builds a cache key and looks
# the concrete function up (`_maybe_define_function`, `canonicalize_function_inputs`,
# `cast_inputs`): 15% of a bot-only turn's CPU in the profile (docs/speed-and-scale.md), spent
# on every DIET and TED call. `direct_rasa_predict` looks the concrete function up once per
# model and calls it with the batch's tensors: the same graph, the same inputs, the same
# outputs (tests/assistant/test_performance.py compares them on the trained model).

_DIRECT_PREDICT: Final = "_assistant_direct_predict"
_rasa_predict: Callable[..., dict[str, Any]] = RasaModel._rasa_predict


def _direct_predict(model: RasaModel, batch_in: Any) -> Callable[[Any], Any]:
    """The call of the model's one concrete prediction function, built on first use."""
    known: Callable[[Any], Any] | None = model.__dict__.get(_DIRECT_PREDICT)
    if known is not None:
        return known
    if model._tf_predict_step is None:
        model._tf_predict_step = tf.function(
            model.predict_step, input_signature=model._dynamic_signature(batch_in)
        )
    concrete = model._tf_predict_step.get_concrete_function()
    (specs,) = concrete.structured_input_signature[0]
    dtypes = [spec.dtype.as_datatype_enum for spec in specs]
    captured = concrete.captured_inputs
    call_flat = concrete._call_flat
    eager = context.context()

    def call(batch: Any) -> Any:
        if len(batch) != len(dtypes):
            raise ValueError(
                f"expected a batch of {len(dtypes)} tensors, as the model was traced with, "
                f"got {len(batch)}"
            )
        # What `tf.convert_to_tensor` ends in for a NumPy array in eager mode
        # (`constant_op.convert_to_eager_tensor`), without its dispatch layers: half the cost.
        device = eager.device_name
        pairs = zip(batch, dtypes, strict=True)
        tensors = [ops.EagerTensor(value, device, dtype) for value, dtype in pairs]
        return call_flat(tensors, captured)

    model.__dict__[_DIRECT_PREDICT] = call
    return call


def direct_rasa_predict(self: RasaModel, batch_in: Any) -> dict[str, Any]:
    """`RasaModel._rasa_predict`, calling the traced graph without TensorFlow's dispatch."""
    self._training = False
    if self._run_eagerly:
        return _rasa_predict(self, batch_in)
    if not self.prepared_for_prediction:
        self.prepare_for_predict()
        self.prepared_for_prediction = True
    outputs: dict[str, Any] = tf_utils.sync_to_numpy_or_python_type(
        _direct_predict(self, batch_in)(batch_in)
    )
    if DIAGNOSTIC_DATA in outputs:
        outputs[DIAGNOSTIC_DATA] = self._empty_lists_to_none_in_dict(outputs[DIAGNOSTIC_DATA])
    return outputs


def install_direct_model_calls() -> bool:
    """Installs `direct_rasa_predict` if Rasa is the version it was written for."""
    if rasa.__version__ != PATCHED_RASA_VERSION:
        return False
    RasaModel._rasa_predict = direct_rasa_predict
    return True


# --- Loading the model without tracing its training step --------------------------------------
#
# `RasaModel.load` builds each model (DIET, TED) by training it on one example with `fit`, so
# that its weights exist, then overwrites them all with the trained ones and traces the
# prediction graph. `fit` first traces the whole training step into a graph (loss, gradients,
# optimizer): 29 s of a 38 s model load in the profile, for one step whose result is thrown
# away. `quick_model_load` computes that step's losses once, eagerly, instead (the same Python
# code creates the same weights, in well under a second), then loads the same trained weights
# and traces the same prediction graph: the loaded model predicts exactly as Rasa's
# (tests/e2e/test_model_calls.py compares every weight and every output). A load for
# fine-tuning keeps Rasa's own, since training goes on with it.

_rasa_load: Callable[..., RasaModel] = RasaModel.load.__func__


def quick_model_load(
    cls: type[RasaModel],
    model_file_name: str,
    model_data_example: RasaModelData,
    predict_data_example: RasaModelData | None = None,
    finetune_mode: bool = False,
    *args: Any,
    **kwargs: Any,
) -> RasaModel:
    """`RasaModel.load`, its weights built by one eager pass of a training step's losses."""
    if finetune_mode:
        return _rasa_load(
            cls, model_file_name, model_data_example, predict_data_example, True, *args, **kwargs
        )
    model = cls(*args, **kwargs)
    config = kwargs.get("config", {})
    optimizer = tf.keras.optimizers.Adam(config.get(LEARNING_RATE, 0.001))
    model.compile(optimizer=optimizer, run_eagerly=config.get(RUN_EAGERLY))
    batch_in, _ = RasaBatchDataGenerator(model_data_example, batch_size=1)[0]
    model._training = True  # the losses of a training step create every weight
    model.batch_loss(batch_in)
    # The optimizer's own state (never built here) is not needed to predict.
    model.load_weights(model_file_name).expect_partial()
    if predict_data_example:
        model.run_inference(predict_data_example)  # traces the prediction graph, as Rasa does
    return model


def install_quick_model_load() -> bool:
    """Installs `quick_model_load` if Rasa is the version it was written for."""
    if rasa.__version__ != PATCHED_RASA_VERSION:
        return False
    RasaModel.load = classmethod(quick_model_load)
    return True


# --- One HTTP connection to the action server, kept open ---------------------------------------
#
# Rasa's `EndpointConfig.request` opens a new `aiohttp.ClientSession`, so a new TCP connection,
# for every call of a custom action, and closes it after the answer: on an order-lookup turn
# (two calls) that was about 10% of the Rasa server's CPU, plus an accept and a connection set-up
# on the action server's side. `kept_session` hands `request` one session per endpoint and event
# loop instead, whose connections stay open between calls. They are closed after
# `KEEP_ALIVE_SECONDS` idle: well before the action server (Sanic, 5 s) closes them itself, so a
# request is never sent down a connection the server is closing.

#: Seconds an idle connection to an endpoint is kept (below Sanic's keep-alive of 5 s).
KEEP_ALIVE_SECONDS: Final = 2.0
_KEPT: Final = "_assistant_kept_session"


class _KeptSession:
    """`async with` gives the endpoint's shared session and leaves it open afterwards."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self._session = session

    async def __aenter__(self) -> aiohttp.ClientSession:
        return self._session

    async def __aexit__(self, *_: object) -> None:
        return None


def kept_session(self: EndpointConfig) -> Any:
    """`EndpointConfig.session` (same headers, auth and default timeout), shared by the calls
    made on one event loop, its connections kept alive."""
    loop = asyncio.get_running_loop()
    kept: tuple[asyncio.AbstractEventLoop, aiohttp.ClientSession] | None = self.__dict__.get(_KEPT)
    if kept is None or kept[0] is not loop or kept[1].closed:
        auth = None
        if self.basic_auth:
            auth = aiohttp.BasicAuth(self.basic_auth["username"], self.basic_auth["password"])
        session = aiohttp.ClientSession(
            headers=self.headers,
            auth=auth,
            timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
            connector=aiohttp.TCPConnector(keepalive_timeout=KEEP_ALIVE_SECONDS),
        )
        kept = (loop, session)
        self.__dict__[_KEPT] = kept
    return _KeptSession(kept[1])


def install_kept_alive_endpoints() -> bool:
    """Installs `kept_session` if Rasa is the version it was written for."""
    if rasa.__version__ != PATCHED_RASA_VERSION:
        return False
    EndpointConfig.session = kept_session
    return True


# --- Slot copies --------------------------------------------------------------------------------
#
# Every tracker Rasa makes copies each of the domain's slots with `copy.copy`, and a turn makes
# many trackers: each policy replays the conversation into a fresh one to read its past states,
# and each action runs on a copy. `copy.copy` of a plain object goes through `__reduce_ex__`
# and `copyreg`; with this domain's 43 slots that was about 5% of an order-lookup turn's CPU.
# `copy_slot` makes the same shallow copy directly: a new object of the same class with the
# same attributes.


def copy_slot(self: Slot) -> Slot:
    """`copy.copy(slot)`: the same class, a new `__dict__` holding the same values."""
    duplicate = object.__new__(type(self))
    duplicate.__dict__.update(self.__dict__)
    return duplicate


def install_quick_slot_copies() -> bool:
    """Installs `copy_slot` as `Slot.__copy__` if Rasa is the version it was written for."""
    if rasa.__version__ != PATCHED_RASA_VERSION:
        return False
    Slot.__copy__ = copy_slot
    return True

"""A demo Moodle site: a generated dataset served through an emulated REST web service.

It is the project's embedded default (the README's demo, tests, benchmarks) and speaks the
protocol of a real Moodle 4.5 with the same answer shapes (see ``shared/moodle``), or of a
Moodle 5.0 with ``DemoConfig(moodle_version="5.0")`` (see :mod:`.releases`).
"""

from .dataset import Dataset, DemoConfig, generate
from .errors import MoodleException
from .phpform import decode_php_form
from .server import DEMO_TOKEN, RESTRICTED_TOKEN, DemoServer, RecordedCall, serve

__all__ = [
    "DEMO_TOKEN",
    "RESTRICTED_TOKEN",
    "Dataset",
    "DemoConfig",
    "DemoServer",
    "MoodleException",
    "RecordedCall",
    "decode_php_form",
    "generate",
    "serve",
]

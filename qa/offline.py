"""The environment qa runs in: offline, with no telemetry, set in this one place.

Importing this module sets each variable below unless the user has set it already. The
package imports it before anything else (`qa/__init__.py`), so every module of qa, and the
libraries they load (Gradio, the Hugging Face libraries, the tokenizers), see these values.

Example:
    >>> import os, qa.offline
    >>> os.environ["HF_HUB_OFFLINE"]
    '1'
"""

from __future__ import annotations

import os

OFFLINE_ENVIRONMENT = {
    "GRADIO_ANALYTICS_ENABLED": "False",  # Gradio sends no usage data
    "HF_HUB_OFFLINE": "1",  # the model comes from a package; the hub is never asked
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TOKENIZERS_PARALLELISM": "false",  # no warnings when a build forks its reader process
    "RAY_USAGE_STATS_ENABLED": "0",  # a Ray build (`qa index --ray`) sends no usage data
}

for _name, _value in OFFLINE_ENVIRONMENT.items():
    os.environ.setdefault(_name, _value)

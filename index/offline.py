"""Keep the libraries this product uses from reaching the network on their own.

Measured on these machines (docs/offline.md): importing litellm fetches a
price map, its token counter fetches tokenizers from a model hub, gradio starts an
analytics thread. These must be set before those libraries are imported, and only as
defaults, so a user who wants otherwise can still say so.
"""

import os

OFFLINE_DEFAULTS = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "ANONYMIZED_TELEMETRY": "False",
    "NO_PROXY": "127.0.0.1,localhost",
    "no_proxy": "127.0.0.1,localhost",
    "TOKENIZERS_PARALLELISM": "false",
}


def apply() -> None:
    for key, value in OFFLINE_DEFAULTS.items():
        os.environ.setdefault(key, value)

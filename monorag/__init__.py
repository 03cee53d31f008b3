"""monorag: question answering over drug monographs, with citations to their sections."""

from monorag.offline import configure_offline

configure_offline()

__version__ = "0.1.0"

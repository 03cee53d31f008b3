"""The Streamlit chat, for ``streamlit run app.py`` from the checkout (``make run``).

The chat itself is ``monorag/ui/app.py`` (folder ``ui/``), shipped in the wheel and started by
``monorag app``; this file only runs it.
"""

from monorag.ui.app import main

main()

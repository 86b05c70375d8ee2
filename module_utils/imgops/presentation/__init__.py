"""How results look to people: one renderer for the CLI and for the playbook's summary filter.

Every function here takes the result as the envelope dict (``JobResult.to_output()``, or what an
Ansible module returned), so the terminal and the playbook show a job the same way. Job cores
compute results and never format them.
"""

from .text import headline, render_result, summary_line

__all__ = ["headline", "render_result", "summary_line"]

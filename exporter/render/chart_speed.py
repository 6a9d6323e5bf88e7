"""Import this before reportlab.graphics: it turns off reportlab's attribute checks on shapes.

Every attribute set on a chart's shapes and widgets is checked against its declared type unless
`rl_config.shapeChecking` is off when reportlab.graphics is first imported (the check is built
into the classes then): a third of a chart's drawing time, for a check reportlab's settings call a
help while developing. vectorchart's assignments are fixed, and the tests draw every chart kind
and read the PDF back. The setting is the process's: nothing else in exporter draws with
reportlab.graphics.
"""

from __future__ import annotations

from reportlab import rl_config

__all__: list[str] = []

rl_config.shapeChecking = 0

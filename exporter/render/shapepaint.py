"""Paint a reportlab Drawing on a PDF canvas: what `renderPDF.draw` does, without its per-shape state machinery.

renderPDF walks the shape tree generically: for every shape it saves and restores the graphics
state, copies a dictionary of all eleven state properties, diffs it against its parent's and sets
what differs. A chart is a hundred small shapes, so that machinery was most of the chart's
drawing time (4 of a PDF's 27 ms). Here each primitive sets only the colours, line width and
font it draws with, and only when they differ from what the canvas already has; a group saves
the state only around a transform. The page draws the same paths, rectangles and text.

A chart's labels (values, axis ticks, titles) are drawn straight from their properties, read once
each: reportlab's `Label` reads most of them, inherited from the label's collection, about fifty
times while making the strings it draws. A label with a box, outlined text, wrapping or a
flowable is expanded as reportlab expands it (a flowable's is refused).

Only what vectorchart's widgets produce is painted (groups, rectangles, lines, polylines,
polygons, circles, ellipses, wedges, paths, strings, labels; no images, opacity or overprint):
anything else raises TypeError rather than be drawn differently, and the tests draw every chart
kind, odd charts and labels of every placement both ways and compare the pages' pixels.
"""

from __future__ import annotations

import contextlib

from . import reportlab_speed  # noqa: F401 -- first: shape checks off (see there)

# isort: split

from reportlab.graphics.charts.textlabels import Label
from reportlab.graphics.renderbase import STATE_DEFAULTS, _expandUserNode
from reportlab.graphics.shapes import (
    Circle,
    Drawing,
    Ellipse,
    Group,
    Line,
    Path,
    Polygon,
    PolyLine,
    Rect,
    String,
    UserNode,
    Wedge,
    _renderPath,
    mmult,
    numericXShift,
    rotate,
    translate,
)
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from .pdftext import string_operators

__all__ = ["paint"]

_IDENTITY = (1, 0, 0, 1, 0, 0)


def paint(drawing: Drawing, canvas: Canvas, x: float = 0, y: float = 0) -> None:
    """Draw *drawing* with its lower-left corner at (*x*, *y*)."""
    if drawing.renderScale != 1.0:
        raise TypeError("a scaled drawing is not painted here")
    canvas.saveState()
    canvas.translate(x, y)
    painter = _Painter(canvas)
    # renderPDF starts every drawing in its initial font (the canvas's may be one the PDF lacks).
    painter.font = (getattr(drawing, "initialFontName", None) or STATE_DEFAULTS["fontName"],
                    getattr(drawing, "initialFontSize", None) or STATE_DEFAULTS["fontSize"])
    canvas.setFont(*painter.font)
    try:
        painter.group(drawing)
    finally:
        canvas.restoreState()


class _Painter:
    """The canvas's graphics state as last set here (None: not known, set it before use)."""

    def __init__(self, canvas: Canvas):
        self.canvas = canvas
        self.fill: object = None
        self.stroke: object = None
        self.width: object = None
        self.cap: object = None
        self.join: object = None
        self.dash: object = None
        self.font: tuple[str, float] | None = None

    # --- state ---------------------------------------------------------------------------------

    def _saved(self) -> tuple:
        return self.fill, self.stroke, self.width, self.cap, self.join, self.dash, self.font

    def _restore(self, saved: tuple) -> None:
        self.fill, self.stroke, self.width, self.cap, self.join, self.dash, self.font = saved

    def _fill_with(self, shape) -> bool:
        colour = shape.fillColor
        if colour is None:
            return False
        _plain(shape, "fillOpacity", "fillOverprint", "overprintMask")
        self._set_fill(colour)
        return True

    def _set_fill(self, colour) -> None:
        if colour != self.fill:
            self.canvas.setFillColor(colour)
            self.fill = colour

    def _stroke_with(self, shape) -> bool:
        colour = shape.strokeColor
        if colour is None:
            return False
        _plain(shape, "strokeOpacity", "strokeOverprint", "overprintMask")
        canvas = self.canvas
        if colour != self.stroke:
            canvas.setStrokeColor(colour)
            self.stroke = colour
        if shape.strokeWidth != self.width:
            canvas.setLineWidth(shape.strokeWidth)
            self.width = shape.strokeWidth
        cap, join = getattr(shape, "strokeLineCap", 0), getattr(shape, "strokeLineJoin", 0)
        if cap != self.cap:
            canvas.setLineCap(cap)
            self.cap = cap
        if join != self.join:
            canvas.setLineJoin(join)
            self.join = join
        dash = getattr(shape, "strokeDashArray", None) or None
        if dash != self.dash:
            if dash is None:
                canvas.setDash()
            elif isinstance(dash, (list, tuple)) and len(dash) == 2 and isinstance(dash[1], (list, tuple)):
                canvas.setDash(dash[1], dash[0])  # (phase, pattern)
            else:
                canvas.setDash(dash, 0)
            self.dash = dash
        return True

    # --- shapes --------------------------------------------------------------------------------

    def node(self, node) -> None:
        if _plain_label(type(node)):
            self.label(node)
            return
        if isinstance(node, UserNode):
            node = _expandUserNode(node, self.canvas)
            if not node:
                return
        if getattr(node, "_drawTimeCallback", None) is not None:
            raise TypeError("cannot paint a shape with a draw-time callback")
        kind = type(node)
        draw = _DRAW.get(kind) or next((d for k, d in _DRAW.items() if isinstance(node, k)), None)
        if draw is None:
            raise TypeError(f"cannot paint a {kind.__name__}")
        draw(self, node)

    @contextlib.contextmanager
    def _transformed(self, transform: tuple):
        """Paint in *transform*'s space, in a graphics state of its own (none needed for the identity)."""
        if tuple(transform) == _IDENTITY:
            yield
            return
        saved = self._saved()
        self.canvas.saveState()
        self.canvas.transform(*transform)
        try:
            yield
        finally:
            self.canvas.restoreState()
            self._restore(saved)

    def group(self, group: Group) -> None:
        with self._transformed(group.transform):
            for child in group.getContents():
                self.node(child)

    def rect(self, rect: Rect) -> None:
        fill, stroke = self._fill_with(rect), self._stroke_with(rect)
        if rect.rx == rect.ry == 0:
            self.canvas.rect(rect.x, rect.y, rect.width, rect.height, stroke=stroke, fill=fill)
        else:
            self.canvas.roundRect(rect.x, rect.y, rect.width, rect.height, rect.rx, stroke=stroke, fill=fill)

    def line(self, line: Line) -> None:
        if self._stroke_with(line):
            self.canvas.line(line.x1, line.y1, line.x2, line.y2)

    def polyline(self, polyline: PolyLine) -> None:
        if self._stroke_with(polyline):
            self.canvas.drawPath(self._points(polyline.points, close=False), stroke=1, fill=0)

    def polygon(self, polygon: Polygon) -> None:
        fill, stroke = self._fill_with(polygon), self._stroke_with(polygon)
        self.canvas.drawPath(self._points(polygon.points, close=True), stroke=stroke, fill=fill,
                             fillMode=getattr(polygon, "fillMode", None))

    def _points(self, points, close: bool):
        path = self.canvas.beginPath()
        path.moveTo(points[0], points[1])
        for i in range(2, len(points), 2):
            path.lineTo(points[i], points[i + 1])
        if close:
            path.close()
        return path

    def circle(self, circle: Circle) -> None:
        fill, stroke = self._fill_with(circle), self._stroke_with(circle)
        self.canvas.circle(circle.cx, circle.cy, circle.r, stroke=stroke, fill=fill)

    def ellipse(self, ellipse: Ellipse) -> None:
        fill, stroke = self._fill_with(ellipse), self._stroke_with(ellipse)
        self.canvas.ellipse(ellipse.cx - ellipse.rx, ellipse.cy - ellipse.ry, ellipse.cx + ellipse.rx,
                            ellipse.cy + ellipse.ry, stroke=stroke, fill=fill)

    def wedge(self, wedge: Wedge) -> None:
        if wedge.annular:
            self.path(wedge.asPolygon())
            return
        fill, stroke = self._fill_with(wedge), self._stroke_with(wedge)
        cx, cy, radius = wedge.centerx, wedge.centery, wedge.radius
        start, end = wedge.startangledegrees, wedge.endangledegrees
        yradius, radius1, yradius1 = wedge._xtraRadii()
        if yradius is None:
            yradius = radius
        path = self.canvas.beginPath()
        if not radius1 and not yradius1:
            path.moveTo(cx, cy)
            path.arcTo(cx - radius, cy - yradius, cx + radius, cy + yradius, start, end - start)
        else:
            path.arc(cx - radius, cy - yradius, cx + radius, cy + yradius, start, end - start)
            path.arcTo(cx - radius1, cy - yradius1, cx + radius1, cy + yradius1, end, start - end)
        path.close()
        self.canvas.drawPath(path, stroke=stroke, fill=fill)

    def path(self, path: Path) -> None:
        if path.isClipPath:
            raise TypeError("cannot paint a clipping path")
        fill, stroke = self._fill_with(path), self._stroke_with(path)
        pdf_path = self.canvas.beginPath()
        autoclose = getattr(path, "autoclose", "")
        closed = _renderPath(path, (pdf_path.moveTo, pdf_path.lineTo, pdf_path.curveTo, pdf_path.close),
                             forceClose=fill and autoclose == "pdf")
        mode = getattr(path, "fillMode", None)
        if autoclose == "svg" and fill and stroke and not closed:
            self.canvas.drawPath(pdf_path, fill=fill, stroke=0, fillMode=mode)
            self.canvas.drawPath(pdf_path, stroke=stroke, fill=0, fillMode=mode)
            return
        if not autoclose and not closed:
            fill = False
        self.canvas.drawPath(pdf_path, fill=fill, stroke=stroke, fillMode=mode)

    def string(self, string: String) -> None:
        if getattr(string, "textRenderMode", 0):
            raise TypeError("cannot paint a string with a text render mode")
        if string.fillColor is None:
            return
        _plain(string, "fillOpacity", "fillOverprint", "overprintMask")
        self._text(string.x, string.y, string.text, string.textAnchor, (string.fontName, string.fontSize),
                   string.fillColor, string.encoding)

    def _text(self, x: float, y: float, text: str, anchor: str, font: tuple[str, float], colour,
              encoding: str = "utf8") -> None:
        self._set_fill(colour)
        if font != self.font:
            self.canvas.setFont(*font)
            self.font = font
        if anchor not in ("start", "inherited"):
            width = stringWidth(text, *font, encoding)
            if anchor == "end":
                x -= width
            elif anchor == "middle":
                x -= width * 0.5
            elif anchor == "numeric":  # aligned on the decimal point, as renderPDF does
                x -= numericXShift(anchor, text, width, *font, encoding)
            else:
                raise TypeError(f"cannot paint a string anchored {anchor!r}")
        code = string_operators(self.canvas, x, y, text)
        if code is None:
            self.canvas.drawString(x, y, text)
        else:
            self.canvas._code.append(code)

    def label(self, label: Label) -> None:
        """A chart label: the strings `Label._rawDraw` makes of a plain one, each property read once.

        A label's properties are mostly inherited from its collection (all the bar labels of a
        chart), and `_rawDraw` reads them about fifty times: a fifth of a chart. A label with a box,
        outlined text, wrapping or a numeric anchor is expanded as reportlab expands it (and a
        label holding a flowable is refused, as any shape this painter does not draw).
        """
        plain = not (label.ddfKlass or getattr(label, "customDrawChanger", None) or label.boxFillColor
                     or (label.boxStrokeColor and label.boxStrokeWidth) or label.strokeColor or label.maxWidth
                     or label.useAscentDescent)
        text_anchor = label._getTextAnchor() if plain else None
        if text_anchor not in ("start", "middle", "end"):  # "numeric": its strings are painted as renderPDF does
            self.node(label.draw())
            return
        anchor = label._getBoxAnchor()
        font = (label.fontName, label.fontSize)
        lines = (label._text or "").split("\n")
        left_pad, right_pad, top_pad = label.leftPadding, label.rightPadding, label.topPadding
        width = label.width or left_pad + right_pad + max(stringWidth(line, *font) for line in lines)
        leading = label.leading or font[1] * 1.2
        height = label.height or leading * len(lines) + top_pad + label.bottomPadding
        inner_width, inner_height = width - left_pad - right_pad, height - top_pad - label.bottomPadding
        top = (-top_pad if anchor in ("n", "ne", "nw") else height - top_pad if anchor in ("s", "sw", "se")
               else 0.5 * inner_height)
        left = (left_pad - width if anchor in ("ne", "e", "se") else left_pad if anchor in ("nw", "w", "sw")
                else -inner_width * 0.5)
        x = {"start": left, "middle": left + inner_width * 0.5, "end": left + inner_width}[text_anchor]
        y = top - leading / 1.2  # the baseline: reportlab's ratio of 1/1.2 without ascent and descent
        colour = label.fillColor
        if colour is None:
            return
        # The group `_rawDraw` makes: translated to the label's origin, then rotated.
        with self._transformed(mmult(translate(label.x + label.dx, label.y + label.dy), rotate(label.angle))):
            for line in lines:
                self._text(x, y, line, text_anchor, font, colour)
                y -= leading


def _plain_label(kind: type) -> bool:
    """A Label (or a subclass choosing only its anchors, as a bar's label does) that `_Painter.label` draws."""
    known = _PLAIN_LABELS.get(kind)
    if known is None:
        known = _PLAIN_LABELS[kind] = issubclass(kind, Label) and all(
            getattr(kind, name) is getattr(Label, name) for name in _LABEL_DRAWING)
    return known


_PLAIN_LABELS: dict[type, bool] = {}

_LABEL_DRAWING = ("draw", "_rawDraw", "computeSize", "_computeSizeEnd", "_getBaseLineRatio")


def _plain(shape, *props: str) -> None:
    """Refuse a shape drawn with transparency or overprint (renderPDF would set them; this painter does not)."""
    for prop in props:
        if getattr(shape, prop, None):  # None, False and 0 are the defaults
            raise TypeError(f"cannot paint a {type(shape).__name__} with {prop}")


# Looked up by exact class first, then by isinstance in this order (a subclass of Path is a Path).
_DRAW = {
    Group: _Painter.group,
    Drawing: _Painter.group,
    Rect: _Painter.rect,
    Line: _Painter.line,
    PolyLine: _Painter.polyline,
    Polygon: _Painter.polygon,
    Circle: _Painter.circle,
    Ellipse: _Painter.ellipse,
    Wedge: _Painter.wedge,
    Path: _Painter.path,
    String: _Painter.string,
}

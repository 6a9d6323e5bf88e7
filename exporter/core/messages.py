"""The fixed words exporter writes into a report, in each language it speaks.

A report's `language` (BCP 47, "de-DE") picks the catalogue by its language part; a language
without a catalogue of its own is written in English, with its numbers and dates still in that
locale. Texts the data gives (titles, paragraphs, labels) are never translated. Placeholders are
named and filled with `str.replace`, never `str.format`, so data cannot reach a format string.
"""

from __future__ import annotations

import re
from types import MappingProxyType

DEFAULT_LANGUAGE = "en-US"

_EN = {
    "contents": "Contents",
    "page_of": "Page {page} of {pages}",
    "table": "Table",
    "figure": "Figure",
    "as_of": "As of {date}",
    "source": "Source: {publisher}",
    "source_derived": "Source: {publisher}; derived values are computed estimates",
    "reported": "Reported",
    "derived": "Derived (estimate)",
    "rows_shown": "{shown} of {total} rows{order}; the Excel workbook of this report holds the complete table.",
    "sorted_by": ", sorted by {columns}",
    "largest_first": "{column} (largest first)",
    "no_rows": "The table has no rows.",
    "rows_in_workbook": "The Excel workbook of this report holds the table's {total} rows.",
    "groups_shown": "{shown} of {total} values of {column}.",
    "nothing_to_chart": "{title}: the table has no rows to chart.",
    "pie_left_out": "Not in the pie “{title}”, having no positive value: {categories}.",
    "largest_categories": "“{title}” shows the {limit} largest of {total} values of {column}.",
    "blank": "(blank)",
    "subtitle": "Subtitle",
    "edition": "Edition",
    "author": "Author",
    "as_of_label": "As of",
    "figure_column": "Figure",
    "value": "Value",
    "unit": "Unit",
    "period": "Period/Year",
    "basis": "Basis",
    "note": "Note",
    "section": "Section",
    "text": "Text",
    "category": "Category",
    "count": "Count",
    "sum_of": "Sum of {column}",
    "mean_of": "Mean of {column}",
    "min_of": "Min of {column}",
    "max_of": "Max of {column}",
    "count_of": "Count of {column}",
    "mail_subject": "{title} (as of {date})",
    "mail_key_figures": "Key figures",
    "mail_changes": "What changed since the edition you last received (as of {date})",
    "mail_first": "This is the first edition sent to this list.",
    "mail_no_change": "No key figure and no table changed.",
    "mail_moved": "{label}: {old} → {new} ({change})",
    "mail_rows_added": "{table}: {count} rows added ({total} rows)",
    "mail_rows_removed": "{table}: {count} rows removed ({total} rows)",
    "mail_new_figure": "{label}: {new} (new)",
    "mail_open": "Open the shared folder",
    "mail_chart": "Chart: {title}",
    "mail_as_of": "As of {date} · {publisher}",
    "mail_attached": "Attached:",
    "mail_closing": ("The same files are in the shared output folder. Figures marked \"Derived (estimate)\" in the files\n"
                     "are computed from the reported ones and are not reported by the source."),
}

_DE = {
    "contents": "Inhalt",
    "page_of": "Seite {page} von {pages}",
    "table": "Tabelle",
    "figure": "Abbildung",
    "as_of": "Stand: {date}",
    "source": "Quelle: {publisher}",
    "source_derived": "Quelle: {publisher}; abgeleitete Werte sind berechnete Schätzungen",
    "reported": "Berichtet",
    "derived": "Abgeleitet (Schätzung)",
    "rows_shown": "{shown} von {total} Zeilen{order}; die Excel-Arbeitsmappe dieses Berichts enthält die "
                  "vollständige Tabelle.",
    "sorted_by": ", sortiert nach {columns}",
    "largest_first": "{column} (größte zuerst)",
    "no_rows": "Die Tabelle hat keine Zeilen.",
    "rows_in_workbook": "Die Excel-Arbeitsmappe dieses Berichts enthält die {total} Zeilen der Tabelle.",
    "groups_shown": "{shown} von {total} Werten von {column}.",
    "nothing_to_chart": "{title}: Die Tabelle hat keine Zeilen für ein Diagramm.",
    "pie_left_out": "Nicht im Kreisdiagramm „{title}“, da ohne positiven Wert: {categories}.",
    "largest_categories": "„{title}“ zeigt die {limit} größten von {total} Werten von {column}.",
    "blank": "(leer)",
    "subtitle": "Untertitel",
    "edition": "Ausgabe",
    "author": "Autor",
    "as_of_label": "Stand",
    "figure_column": "Kennzahl",
    "value": "Wert",
    "unit": "Einheit",
    "period": "Zeitraum/Jahr",
    "basis": "Grundlage",
    "note": "Hinweis",
    "section": "Abschnitt",
    "text": "Text",
    "category": "Kategorie",
    "count": "Anzahl",
    "sum_of": "Summe von {column}",
    "mean_of": "Mittelwert von {column}",
    "min_of": "Minimum von {column}",
    "max_of": "Maximum von {column}",
    "count_of": "Anzahl von {column}",
    "mail_subject": "{title} (Stand: {date})",
    "mail_key_figures": "Kennzahlen",
    "mail_changes": "Was sich seit der zuletzt erhaltenen Ausgabe geändert hat (Stand: {date})",
    "mail_first": "Dies ist die erste Ausgabe für diesen Verteiler.",
    "mail_no_change": "Keine Kennzahl und keine Tabelle hat sich geändert.",
    "mail_moved": "{label}: {old} → {new} ({change})",
    "mail_rows_added": "{table}: {count} Zeilen hinzugekommen ({total} Zeilen)",
    "mail_rows_removed": "{table}: {count} Zeilen entfallen ({total} Zeilen)",
    "mail_new_figure": "{label}: {new} (neu)",
    "mail_open": "Gemeinsamen Ordner öffnen",
    "mail_chart": "Diagramm: {title}",
    "mail_as_of": "Stand: {date} · {publisher}",
    "mail_attached": "Im Anhang:",
    "mail_closing": ("Dieselben Dateien liegen im gemeinsamen Ausgabeordner. Mit „Abgeleitet (Schätzung)“ markierte\n"
                     "Werte sind aus den berichteten berechnet und stammen nicht von der Quelle."),
}

CATALOGUES = MappingProxyType({"en": MappingProxyType(_EN), "de": MappingProxyType(_DE)})


class Words:
    """The catalogue of one language: ``words("page_of", page="3", pages="7")``."""

    def __init__(self, language: str = DEFAULT_LANGUAGE):
        self.language = language
        self.catalogue = CATALOGUES.get(language.split("-")[0].lower(), CATALOGUES["en"])

    def __call__(self, key: str, **values: str) -> str:
        # One pass: a value (a title from the data) is never read again for placeholders.
        return _PLACEHOLDER.sub(lambda m: values.get(m[1], m[0]), self.catalogue[key])


_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def locale_name(language: str) -> str:
    """The Babel locale of a BCP 47 tag: "de-DE" -> "de_DE"."""
    return language.replace("-", "_")

"""The packages' zip: entries deflated by ISA-L, readable as any zip; other zips of the process untouched."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
import zlib

from isal import isal_zlib

from exporter.render.ooxml import write_package

PART = b"<worksheet>" + b"".join(b'<c r="A%d"><v>%d</v></c>' % (i, i * i) for i in range(2000)) + b"</worksheet>"


def _raw(package: bytes, name: str) -> bytes:
    """The entry's compressed bytes as stored in the zip."""
    with zipfile.ZipFile(io.BytesIO(package)) as zf:
        info = zf.getinfo(name)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    return package[start:start + info.compress_size]


def _deflate(module, level: int, data: bytes) -> bytes:
    compressor = module.compressobj(level, module.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def test_a_package_is_deflated_by_isal_and_reads_back():
    package = write_package({"xl/worksheets/sheet1.xml": PART, "[Content_Types].xml": b"<Types/>"},
                            dt.datetime(2026, 11, 23))
    with zipfile.ZipFile(io.BytesIO(package)) as zf:
        assert zf.testzip() is None
        assert zf.namelist() == ["[Content_Types].xml", "xl/worksheets/sheet1.xml"]
        assert zf.read("xl/worksheets/sheet1.xml") == PART
        assert zf.getinfo("xl/worksheets/sheet1.xml").compress_type == zipfile.ZIP_DEFLATED
    assert _raw(package, "xl/worksheets/sheet1.xml") == _deflate(isal_zlib, 1, PART)
    assert zlib.decompress(_raw(package, "xl/worksheets/sheet1.xml"), -15) == PART


def test_other_zips_of_the_process_keep_zlib():
    for level in (None, 1, 9):
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as zf:
            zf.writestr("part.xml", PART)
        expected = _deflate(zlib, zlib.Z_DEFAULT_COMPRESSION if level is None else level, PART)
        assert _raw(out.getvalue(), "part.xml") == expected


def test_a_repacked_package_keeps_zlib_for_its_large_parts():
    """Streamed data sheets are repetitive XML, which zlib's default level packs a third smaller than ISA-L's."""
    from exporter.render.ooxml import repack

    source = io.BytesIO()
    with zipfile.ZipFile(source, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("xl/worksheets/sheet1.xml", PART)
        zf.writestr("[Content_Types].xml", b"<Types/>")
    source.seek(0)
    out = io.BytesIO()
    repack(source, out, dt.datetime(2026, 11, 23))
    package = out.getvalue()
    with zipfile.ZipFile(io.BytesIO(package)) as zf:
        assert zf.namelist() == ["[Content_Types].xml", "xl/worksheets/sheet1.xml"]
        assert zf.read("xl/worksheets/sheet1.xml") == PART
    assert _raw(package, "xl/worksheets/sheet1.xml") == _deflate(zlib, zlib.Z_DEFAULT_COMPRESSION, PART)

"""Generates a corpus of hostile .xlsx workbooks, one per attack, from two valid filled bases.

    python3 tests/helpers/hostile_workbooks.py BASE_MANUAL.xlsx BASE_VIOLATIONS.xlsx OUTDIR

BASE_MANUAL.xlsx is a filled 支撑配合评分 workbook, BASE_VIOLATIONS.xlsx a filled 违约认定 one (as
the program's templates, filled). Each hostile file is written into OUTDIR with OUTDIR/manifest.json,
a list of {"file", "attack", "kind", "base"}: `kind` is the refusal expected of
`ict-partners import ...` (exit 65), `base` the workbook the file was made from ("manual" or
"violations"). Everything is deterministic (no randomness); all files are small on disk except
too_large (20 MiB + 1 byte). Zips are written by hand (see `pack`) so that duplicated names,
backslashes and lying sizes can be expressed; everything else stays as the base had it.

Standard library only. Columns are found by their titles in row 1, never assumed.
"""
import base64
import json
import os
import re
import struct
import sys
import zipfile
import zlib

NS_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
WS_TYPE = NS_R + "/worksheet"
WS_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
MiB = 1 << 20
SST = "xl/sharedStrings.xml"



# ---------------------------------------------------------------------------------------------
# Zip and XML text helpers
# ---------------------------------------------------------------------------------------------
class Pre:
    """A part already deflated (raw deflate): the stream, the CRC and the size it inflates to."""

    def __init__(self, deflated, crc, size):
        self.deflated, self.crc, self.size = deflated, crc, size


def deflate(data, level=6):
    c = zlib.compressobj(level, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def pack(entries, stored=(), declare=None):
    """A zip of entries [(name, bytes | Pre)] in that order, duplicates and odd names kept as given.
    stored: names written uncompressed; declare: {name: uncompressed size to declare} (a lie)."""
    out, central = bytearray(), []
    for name, data in entries:
        if isinstance(data, Pre):
            comp, crc, size, method = data.deflated, data.crc, data.size, 8
        elif name in stored:
            comp, crc, size, method = data, zlib.crc32(data), len(data), 0
        else:
            comp, crc, size, method = deflate(data), zlib.crc32(data), len(data), 8
        size = (declare or {}).get(name, size)
        raw = name.encode("utf-8")
        flags = 0 if raw.isascii() else 0x800  # bit 11: the name is UTF-8
        # Fixed time stamp (1980-01-01 00:00) so the same bases give the same bytes.
        head = (20, flags, method, 0, 0x21, crc, len(comp), size, len(raw))
        central.append(struct.pack("<IH5H3I5H2I", 0x02014B50, 20, *head, 0, 0, 0, 0, 0, len(out)) + raw)
        out += struct.pack("<I5H3I2H", 0x04034B50, *head, 0) + raw + comp
    cd = b"".join(central)
    eocd = struct.pack("<I4H2IH", 0x06054B50, 0, 0, len(entries), len(entries), len(cd), len(out), 0)
    return bytes(out) + cd + eocd


def esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unesc(s):
    s = re.sub(r"&#x([0-9a-fA-F]+);", lambda m: chr(int(m.group(1), 16)), s)
    s = re.sub(r"&#(\d+);", lambda m: chr(int(m.group(1))), s)
    for a, b in (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'"), ("&amp;", "&")):
        s = s.replace(a, b)
    return s


def attr(el, key):
    """An attribute of an element's start tag (exact name, e.g. "r", "t", "r:id")."""
    m = re.search(r'\s%s="([^"]*)"' % re.escape(key), el[: el.find(">") + 1])
    return m and m.group(1)


def set_attr(tag, **attrs):
    """A start tag with the attributes set (each replaced if present, else added at the end)."""
    for key, value in attrs.items():
        pat = r'(\s%s=")[^"]*(")' % re.escape(key)
        if re.search(pat, tag):
            tag = re.sub(pat, lambda m: m.group(1) + value + m.group(2), tag, count=1)
        else:
            tag = re.sub(r"\s*(/?>)$", lambda m: ' %s="%s"%s' % (key, value, m.group(1)), tag, count=1)
    return tag


def col_index(letters):
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def col_letters(n):
    s = ""
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


def split_ref(ref):
    m = re.match(r"([A-Z]+)(\d+)$", ref)
    return m.group(1), int(m.group(2))


def find_row(xml, n):
    return re.search(r'<row\b[^>]*?\sr="%d"[^>]*?(?:/>|>.*?</row>)' % n, xml, re.S)


def find_cell(xml, ref):
    return re.search(r'<c\b[^>]*?\sr="%s"[^>]*?(?:/>|>.*?</c>)' % ref, xml, re.S)


def put_cell(xml, ref, body, t=None, extra=""):
    """The sheet XML with cell `ref` replaced (its style kept) or inserted in order: `body` inside
    (e.g. "<v>3</v>"), type `t`, `extra` raw attributes written right after r="…"."""
    col, n = split_ref(ref)
    row = find_row(xml, n)
    if row is None:  # a new row, before the first row below it
        later = [m for m in re.finditer(r'<row\b[^>]*?\sr="(\d+)"', xml) if int(m.group(1)) > n]
        at = later[0].start() if later else xml.index("</sheetData>")
        return put_cell(xml[:at] + '<row r="%d"></row>' % n + xml[at:], ref, body, t, extra)
    rx = row.group(0)
    if rx.endswith("/>"):
        rx = rx[:-2].rstrip() + "></row>"
    old = find_cell(rx, ref)
    style = old and attr(old.group(0), "s")
    new = '<c r="%s"%s%s%s' % (ref, extra, ' s="%s"' % style if style else "", ' t="%s"' % t if t else "")
    new += ">%s</c>" % body if body else "/>"
    if old:
        rx = rx[: old.start()] + new + rx[old.end():]
    else:
        after = [m for m in re.finditer(r'<c\b[^>]*?\sr="([A-Z]+)\d+"', rx) if col_index(m.group(1)) > col_index(col)]
        at = after[0].start() if after else rx.rindex("</row>")
        rx = rx[:at] + new + rx[at:]
    return xml[: row.start()] + rx + xml[row.end():]


def set_row_attrs(xml, n, **attrs):
    row = find_row(xml, n)
    tag = re.match(r"<row\b[^>]*?/?>", row.group(0)).group(0)
    return xml[: row.start()] + set_attr(tag, **attrs) + xml[row.start() + len(tag):]


def set_dimension(xml, ref):
    return re.sub(r'<dimension ref="[^"]*"\s*/>', '<dimension ref="%s"/>' % ref, xml, count=1)


def set_col(xml, idx, **attrs):
    """The sheet XML with column `idx` (1-based) given `attrs` in <cols>, splitting a <col> range
    that covers it (or adding <cols>/<col> when there is none)."""
    m = re.search(r"<cols>(.*?)</cols>", xml, re.S)
    cols, out, done = re.findall(r"<col\b[^>]*/>", m.group(1)) if m else [], [], False
    for c in cols:
        lo, hi = int(attr(c, "min")), int(attr(c, "max"))
        if not lo <= idx <= hi:
            out.append(c)
            continue
        done = True
        for a, b in ((lo, idx - 1), (idx, idx), (idx + 1, hi)):
            if a <= b:
                out.append(set_attr(c, min=str(a), max=str(b), **(attrs if a == idx else {})))
    if not done:
        out.append(set_attr('<col min="%d" max="%d" width="9.140625"/>' % (idx, idx), **attrs))
    new = "<cols>%s</cols>" % "".join(sorted(out, key=lambda c: int(attr(c, "min"))))
    if m:
        return xml[: m.start()] + new + xml[m.end():]
    return xml.replace("<sheetData", new + "<sheetData", 1)


def add_before(xml, closing, text):
    at = xml.rindex(closing)
    return xml[:at] + text + xml[at:]


def relationship(rid, target, extra=""):
    return '<Relationship Id="%s" Type="%s" Target="%s"%s/>' % (rid, WS_TYPE, target, extra)


# ---------------------------------------------------------------------------------------------
# The base workbook
# ---------------------------------------------------------------------------------------------
class Book:
    """A base workbook: its parts in zip order, its first sheet, that sheet's titles and its
    first filled row (`row`)."""

    def __init__(self, path, base):
        self.base = base
        with open(path, "rb") as fh:
            self.bytes = fh.read()
        with zipfile.ZipFile(path) as z:
            self.parts = [(i.filename, z.read(i)) for i in z.infolist()]
        self.wb, self.rels = self.text("xl/workbook.xml"), self.text("xl/_rels/workbook.xml.rels")
        self.ct = self.text("[Content_Types].xml")
        # The first <sheet> of the workbook, through its r:id to the part (as the OPC rules say).
        self.sheet_el = re.search(r"<(?:\w+:)?sheet\s[^>]*>", self.wb).group(0)
        self.rid = next(v for k, v in re.findall(r'\s([\w.-]+:id)="([^"]*)"', self.sheet_el))
        self.rel_el = next(r for r in re.findall(r"<Relationship\b[^>]*>", self.rels) if attr(r, "Id") == self.rid)
        target = attr(self.rel_el, "Target")
        self.path = target[1:] if target.startswith("/") else os.path.normpath("xl/" + target)
        self.dir, self.file = self.path.rsplit("/", 1)  # e.g. xl/worksheets, sheet1.xml
        self.sheet = self.text(self.path)
        # openpyxl (which fills workbooks in the tests) writes inline strings and no sharedStrings.xml:
        # then one is made, when needed, with its relationship and content type (see build).
        self.has_sst = SST in dict(self.parts)
        self.sst_xml = self.text(SST) if self.has_sst else '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' \
            '<sst xmlns="%s" count="0" uniqueCount="0"></sst>' % MAIN
        self.sst = []
        for si in re.finditer(r"<si\b[^>]*?(?:/>|>(.*?)</si>)", self.sst_xml, re.S):
            inner = re.sub(r"<rPh\b.*?</rPh>", "", si.group(1) or "", flags=re.S)
            self.sst.append(unesc("".join(re.findall(r"<t\b[^>]*?(?:/>|>(.*?)</t>)", inner, re.S))))
        self.rows = [int(n) for n in re.findall(r'<row\b[^>]*?\sr="(\d+)"', self.sheet)]
        self.titles = {self.value(c): split_ref(attr(c, "r"))[0] for c in self.cells(1)}
        self.titles.pop("", None)
        # The first filled row: a number in 得分 (manual), a partner in 合作伙伴编号 (violations).
        key = "得分" if base == "manual" else "合作伙伴编号"
        number = lambda c: "<v>" in c and attr(c, "t") in (None, "n")
        test = number if base == "manual" else self.value
        filled = [n for n in self.rows if n > 1 and test(self.cell(self.ref(key, n)))]
        if not filled:
            sys.exit("%s: no filled row (no %s in any row below the titles)" % (path, key))
        self.row = filled[0]

    def text(self, name):
        return next(d for n, d in self.parts if n == name).decode("utf-8")

    def cells(self, n):
        row = find_row(self.sheet, n)
        return [m.group(0) for m in re.finditer(r"<c\b[^>]*?(?:/>|>.*?</c>)", row.group(0), re.S)] if row else []

    def cell(self, ref):
        m = find_cell(self.sheet, ref)
        return m.group(0) if m else ""

    def ref(self, title, n):
        if title not in self.titles:
            sys.exit("the %s base has no column titled %s (titles: %s)" % (self.base, title, list(self.titles)))
        return "%s%d" % (self.titles[title], n)

    def value(self, c):
        """What a cell shows, as text."""
        v = re.search(r"<v>(.*?)</v>", c, re.S)
        if attr(c, "t") == "s" and v:
            return self.sst[int(v.group(1))]
        if attr(c, "t") == "inlineStr":
            return unesc("".join(re.findall(r"<t\b[^>]*>(.*?)</t>", c, re.S)))
        return unesc(v.group(1)) if v else ""

    def table(self):
        """The sheet as rows of texts (header included), for the CSV and .xls look-alikes."""
        width = max(col_index(c) for c in self.titles.values())
        out = []
        for n in self.rows:
            vals = {col_index(split_ref(attr(c, "r"))[0]): self.value(c) for c in self.cells(n)}
            out.append([vals.get(i, "") for i in range(1, width + 1)])
        return out

    def add_sst(self, xml_text, sst=None):
        """The shared strings with one more string (given as XML content), and its index."""
        sst = sst or self.sst_xml
        n = len(re.findall(r"<si\b", sst))
        sst = add_before(sst, "</sst>", '<si><t xml:space="preserve">%s</t></si>' % xml_text)
        tag = re.search(r"<sst\b[^>]*>", sst).group(0)
        counts = {k: str(int(attr(tag, k)) + 1) for k in ("count", "uniqueCount") if attr(tag, k)}
        return sst.replace(tag, set_attr(tag, **counts), 1), n

    def text_cell(self, xml, ref, xml_text, inline=False):
        """(sheet, sharedStrings or None) with cell `ref` holding a text: inline, or a new shared string."""
        if inline:
            return put_cell(xml, ref, '<is><t xml:space="preserve">%s</t></is>' % xml_text, "inlineStr"), None
        sst, i = self.add_sst(xml_text)
        return put_cell(xml, ref, "<v>%d</v>" % i, "s"), sst

    def score(self):
        """The reference and the number of the first filled row's 得分."""
        ref = self.ref("得分", self.row)
        return ref, re.search(r"<v>(.*?)</v>", self.cell(ref)).group(1)

    def formula_sheet(self):
        """The first sheet with a formula (and its cached value) in the first filled 得分 cell."""
        ref, v = self.score()
        return put_cell(self.sheet, ref, "<f>ROUND(%s,2)</f><v>%s</v>" % (v, v))

    def build(self, sheet=None, sheets=None, parts=None, extra=(), drop=(), **kw):
        """The workbook as zip bytes. sheet: the first sheet's new XML; sheets: (name, xml) entries
        that replace the first sheet's part, appended in that order; parts: {name: new content};
        extra: entries appended; drop: names left out. A part given as None is left as it was."""
        parts = {n: d for n, d in (parts or {}).items() if d is not None}
        if SST in parts and not self.has_sst:  # a new shared strings part, related and typed
            extra = [(SST, parts.pop(SST))] + list(extra)
            rels, ct = "xl/_rels/workbook.xml.rels", "[Content_Types].xml"
            parts[rels] = add_before(parts.get(rels, self.rels), "</Relationships>",
                                     '<Relationship Id="rIdStrings" Type="%s/sharedStrings" Target="sharedStrings.xml"/>' % NS_R)
            parts[ct] = add_before(parts.get(ct, self.ct), "</Types>", '<Override PartName="/%s" ContentType="application/'
                                   'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>' % SST)
        if sheet is not None:
            parts[self.path] = sheet
        drop = set(drop) | ({self.path} if sheets is not None else set())
        entries = [(n, parts.get(n, d)) for n, d in self.parts if n not in drop]
        entries += list(sheets or []) + list(extra)
        return pack([(n, d.encode("utf-8") if isinstance(d, str) else d) for n, d in entries], **kw)


def override(ct, part):
    return add_before(ct, "</Types>", '<Override PartName="/%s" ContentType="%s"/>' % (part, WS_CT))


def default(ct, ext, ctype="application/octet-stream"):
    return add_before(ct, "</Types>", '<Default Extension="%s" ContentType="%s"/>' % (ext, ctype))


# ---------------------------------------------------------------------------------------------
# OLE compound files (encrypted xlsx, old .xls)
# ---------------------------------------------------------------------------------------------
def cfb(tree):
    """An OLE/CFB compound file, version 3 (512-byte sectors), of tree {name: bytes | {subtree}}:
    streams under 4096 bytes in the mini stream, the others in sectors of their own."""
    END, FREE, FATSECT, NONE = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF
    entries = [["Root Entry", 5, None, []]]  # name, type, data, children

    def walk(node, parent):
        for name, v in node.items():
            entries.append([name, 1 if isinstance(v, dict) else 2, None if isinstance(v, dict) else v, []])
            entries[parent][3].append(len(entries) - 1)
            if isinstance(v, dict):
                walk(v, len(entries) - 1)

    walk(tree, 0)
    sectors, fat = [], []

    def alloc(data):
        if not data:
            return END
        first, n = len(sectors), (len(data) + 511) // 512
        for k in range(n):
            sectors.append(data[k * 512:(k + 1) * 512].ljust(512, b"\0"))
            fat.append(first + k + 1 if k < n - 1 else END)
        return first

    mini, minifat, start, size = b"", [], {}, {}
    for i, (name, typ, data, _) in enumerate(entries):
        if typ != 2:
            continue
        size[i] = len(data)
        if len(data) >= 4096:
            start[i] = alloc(data)
        elif data:
            first, n = len(mini) // 64, (len(data) + 63) // 64
            mini += data.ljust(n * 64, b"\0")
            minifat += [first + k + 1 if k < n - 1 else END for k in range(n)]
            start[i] = first
    start[0], size[0] = alloc(mini), len(mini)
    mf = struct.pack("<%dI" % len(minifat), *minifat)
    mf += struct.pack("<I", FREE) * ((-len(mf) % 512) // 4)
    first_minifat = alloc(mf)
    # Siblings as a chain in CFB order (length, then upper case), all black: readers accept it.
    right, child = {}, {}
    for i, e in enumerate(entries):
        kids = sorted(e[3], key=lambda k: (len(entries[k][0]), entries[k][0].upper()))
        if kids:
            child[i] = kids[0]
        right.update(zip(kids, kids[1:]))
    directory = b""
    for i, (name, typ, _, _) in enumerate(entries):
        u = name.encode("utf-16-le")
        directory += struct.pack("<64sHBBIII16sIQQIQ", u, len(u) + 2, typ, 1, NONE, right.get(i, NONE),
                                 child.get(i, NONE), b"\0" * 16, 0, 0, 0, start.get(i, END if typ != 1 else 0), size.get(i, 0))
    empty = struct.pack("<64sHBBIII16sIQQIQ", b"", 0, 0, 0, NONE, NONE, NONE, b"\0" * 16, 0, 0, 0, 0, 0)
    directory += empty * ((-len(directory) % 512) // 128)
    first_dir = alloc(directory)
    nfat = 1
    while len(sectors) + nfat > nfat * 128:
        nfat += 1
    fat_at = len(sectors)
    fat += [FATSECT] * nfat
    fat += [FREE] * (nfat * 128 - len(fat))
    difat = list(range(fat_at, fat_at + nfat)) + [FREE] * (109 - nfat)
    header = struct.pack("<8s16s5H6s9I109I", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"\0" * 16, 0x3E, 3, 0xFFFE, 9, 6,
                         b"\0" * 6, 0, nfat, first_dir, 0, 4096, first_minifat, len(mf) // 512, END, 0, *difat)
    return header + b"".join(sectors) + struct.pack("<%dI" % len(fat), *fat)


def noise(n, seed=1):
    """n deterministic bytes that look random (xorshift64)."""
    out, mask = bytearray(), (1 << 64) - 1
    x = (seed * 0x9E3779B97F4A7C15 + 1) & mask
    while len(out) < n:
        x ^= (x << 13) & mask
        x ^= x >> 7
        x ^= (x << 17) & mask
        out += struct.pack("<Q", x)
    return bytes(out[:n])


def encrypted(b):
    """What Excel writes for a password-protected xlsx: agile EncryptionInfo, EncryptedPackage
    (size + AES-looking blocks) and the \\x06DataSpaces storage."""
    def lp(s):
        u = s.encode("utf-16-le")
        return struct.pack("<I", len(u)) + u + b"\0" * (-len(u) % 4)

    b64 = lambda n, seed: base64.b64encode(noise(n, seed)).decode()
    algo = ('saltSize="16" blockSize="16" keyBits="256" hashSize="64" cipherAlgorithm="AES" '
            'cipherChaining="ChainingModeCBC" hashAlgorithm="SHA512"')
    ms = "http://schemas.microsoft.com/office/2006/"
    xml = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n<encryption xmlns="{ms}encryption" '
           'xmlns:p="{ms}keyEncryptor/password" xmlns:c="{ms}keyEncryptor/certificate"><keyData {algo} saltValue="{}"/>'
           '<dataIntegrity encryptedHmacKey="{}" encryptedHmacValue="{}"/><keyEncryptors><keyEncryptor '
           'uri="{ms}keyEncryptor/password"><p:encryptedKey spinCount="100000" {algo} saltValue="{}" encryptedVerifierHashInput="{}" '
           'encryptedVerifierHashValue="{}" encryptedKeyValue="{}"/></keyEncryptor></keyEncryptors></encryption>').format(
        b64(16, 1), b64(64, 2), b64(64, 3), b64(16, 4), b64(16, 5), b64(64, 6), b64(32, 7), ms=ms, algo=algo)
    info = struct.pack("<HHI", 4, 4, 0x40) + xml.encode()
    package = struct.pack("<Q", len(b.bytes)) + noise((len(b.bytes) + 15) // 16 * 16, 8)
    versions = struct.pack("<6H", 1, 0, 1, 0, 1, 0)
    entry = struct.pack("<II", 1, 0) + lp("EncryptedPackage") + lp("StrongEncryptionDataSpace")
    primary = (struct.pack("<II", 88, 1) + lp("{FF9A3F03-56EF-4613-BDD5-5A41C1D07246}")
               + lp("Microsoft.Container.EncryptionTransform") + versions + struct.pack("<IIII", 0, 0, 0, 4))
    return cfb({"EncryptionInfo": info, "EncryptedPackage": package, "\x06DataSpaces": {
        "Version": lp("Microsoft.Container.DataSpaces") + versions,
        "DataSpaceMap": struct.pack("<III", 8, 1, len(entry) + 4) + entry,
        "DataSpaceInfo": {"StrongEncryptionDataSpace": struct.pack("<II", 8, 1) + lp("StrongEncryptionTransform")},
        "TransformInfo": {"StrongEncryptionTransform": {"\x06Primary": primary}}}})


def old_xls(b):
    """The base's first rows saved as Excel 97-2003 (BIFF8 records in a `Workbook` stream)."""
    rec = lambda t, data: struct.pack("<HH", t, len(data)) + data
    bof = lambda dt: rec(0x0809, struct.pack("<4H2I", 0x0600, dt, 0x0DBB, 0x07CC, 0x000100C1, 0x06))
    name = "Sheet1".encode("utf-16-le")
    sheet8 = lambda at: rec(0x0085, struct.pack("<IBBBB", at, 0, 0, 6, 1) + name)  # BOUNDSHEET8: where the sheet starts
    glob = lambda at: bof(5) + rec(0x0042, struct.pack("<H", 1200)) + sheet8(at) + rec(0x0A, b"")  # CODEPAGE: UTF-16
    table = b.table()
    sheet = bof(0x10) + rec(0x0200, struct.pack("<IIHHH", 0, len(table), 0, len(table[0]), 0))
    for r, row in enumerate(table):
        for c, v in enumerate(row):
            if re.fullmatch(r"-?\d+(\.\d+)?", v):
                sheet += rec(0x0203, struct.pack("<HHHd", r, c, 15, float(v)))  # NUMBER
            elif v:
                u = v.encode("utf-16-le")
                sheet += rec(0x0204, struct.pack("<HHHHB", r, c, 15, len(v), 1) + u)  # LABEL
    stream = glob(len(glob(0))) + sheet + rec(0x0A, b"")
    return cfb({"Workbook": stream.ljust(4096, b"\0")})  # Excel keeps the stream out of the mini stream


# ---------------------------------------------------------------------------------------------
# The corpus
# ---------------------------------------------------------------------------------------------
def corpus(m, v, out):
    """Calls out(file, kind, base, attack, bytes) for every hostile file (m: manual, v: violations)."""
    add = lambda file, kind, attack, data: out(file, kind, "manual", attack, data)
    score_ref, score = m.score()
    col = split_ref(score_ref)[0]
    last, formula, row = max(m.rows), m.formula_sheet(), find_row(m.sheet, m.row)
    rels, cts, pad_name = "xl/_rels/workbook.xml.rels", "[Content_Types].xml", "xl/media/padding.bin"

    # -- size, emptiness and what the file really is ------------------------------------------
    ct_bin = default(m.ct, "bin")
    padded = lambda n: m.build(parts={cts: ct_bin}, extra=[(pad_name, b"\0" * n)], stored={pad_name})
    add("too_large.xlsx", "too_large", "a valid workbook padded (a stored part of zeros) to 20 MiB + 1 byte",
        padded(20 * MiB + 1 - len(padded(0))))
    add("empty.xlsx", "empty", "a zero-byte file", b"")
    add("encrypted.xlsx", "encrypted", "a password-protected xlsx: CFB with EncryptionInfo, EncryptedPackage, \\x06DataSpaces",
        encrypted(m))
    add("old_format.xlsx", "old_format", "an Excel 97-2003 .xls (CFB, BIFF8 Workbook stream) named .xlsx", old_xls(m))
    table = m.table()
    csv = "".join(",".join('"%s"' % c if "," in c else c for c in r) + "\r\n" for r in table)
    add("text_csv.xlsx", "text", "a CSV (UTF-8 with BOM, as Excel saves it) named .xlsx", b"\xef\xbb\xbf" + csv.encode())
    add("text_csv_gbk.xlsx", "text", "a CSV in GBK (Excel's CSV on a Chinese Windows) named .xlsx", csv.encode("gbk", "replace"))
    add("text_tsv_utf16.xlsx", "text", "UTF-16LE tab-separated text (Excel's 'Unicode text') named .xlsx",
        b"\xff\xfe" + csv.replace(",", "\t").encode("utf-16-le"))
    for k in range(64):  # pad the header line until a multi-byte character straddles byte 512
        split = (csv.replace("\r\n", "," + "x" * k + "\r\n", 1) + csv * 3).encode()
        if split[:512].decode(errors="replace") != split[:512].decode(errors="ignore"):
            break
    add("text_csv_split_char.xlsx", "text", "a UTF-8 CSV whose byte 512 falls inside a character (a sniffer cutting there)", split)
    html = "".join("<tr>%s</tr>" % "".join("<td>%s</td>" % esc(c) for c in r) for r in table)
    add("text_html.xlsx", "text", "an HTML table (a web page saved 'as Excel') named .xlsx",
        ("<html><body><table>%s</table></body></html>" % html).encode())
    word = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
    add("not_xlsx_zip.xlsx", "not_xlsx", "a zip (a Word document) without xl/workbook.xml", pack([
        (cts, ('<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" '
               'ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="%s"/></Types>' % word).encode()),
        ("word/document.xml", '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
                              '<w:p><w:r><w:t>得分</w:t></w:r></w:p></w:body></w:document>'.encode())]))
    add("not_xlsx_binary.xlsx", "not_xlsx", "16 KiB of random-looking binary", b"\x00\xff" + noise(16382, 99))

    # -- damaged ----------------------------------------------------------------------------
    add("damaged_truncated.xlsx", "damaged", "the base cut to two thirds (a broken download)", m.bytes[: len(m.bytes) * 2 // 3])
    add("damaged_sheet_garbage.xlsx", "damaged", "garbage (unbalanced tags, bare &) in the sheet XML after the first filled row",
        m.build(sheet=m.sheet[: row.end()] + '<row r="x"><c <<r="?" && ]]></row></c>' + m.sheet[row.end():]))
    add("damaged_sheet_truncated.xlsx", "damaged", "the sheet XML stops after the first filled row (no </sheetData></worksheet>)",
        m.build(sheet=m.sheet[: row.end()]))
    good, cell = m.build(stored={m.path}), find_cell(m.sheet, score_ref).group(0).encode()
    at = good.index(cell) + cell.index(b"<v>") + 3
    add("damaged_crc.xlsx", "damaged", "a stored sheet with one digit of a score changed after its CRC was computed",
        good[:at] + (b"9" if good[at:at + 1] != b"9" else b"8") + good[at + 1:])
    add("damaged_sheet_missing.xlsx", "damaged", "the first sheet's relationship points to a part the zip does not have",
        m.build(drop={m.path}))

    # -- zip bombs: 200 MiB of whitespace between two rows (still valid XML) ------------------------
    head, tail, chunk = m.sheet[: row.end()].encode(), m.sheet[row.end():].encode(), b" " * MiB
    c, crc = zlib.compressobj(9, zlib.DEFLATED, -15), zlib.crc32(head)
    stream = [c.compress(head)]
    for _ in range(200):
        stream.append(c.compress(chunk))
        crc = zlib.crc32(chunk, crc)
    stream += [c.compress(tail), c.flush()]
    bomb = Pre(b"".join(stream), zlib.crc32(tail, crc), len(head) + 200 * MiB + len(tail))
    add("inflates_honest.xlsx", "inflates", "the sheet inflates to 200 MiB (whitespace between rows), sizes declared honestly",
        m.build(sheet=bomb))
    add("inflates_lying.xlsx", "inflates", "the same 200 MiB sheet; local and central headers declare the original small size",
        m.build(sheet=bomb, declare={m.path: len(m.sheet.encode())}))
    one, names = Pre(deflate(chunk, 9), zlib.crc32(chunk), MiB), ["xl/media/pad%d.bin" % i for i in range(300)]
    add("inflates_many_parts.xlsx", "inflates", "300 extra parts inflating to 1 MiB each (300 MiB in all), each declared 1000 bytes",
        m.build(parts={cts: ct_bin}, extra=[(n, one) for n in names], declare=dict.fromkeys(names, 1000)))

    # -- ambiguous packages: each hides a formula sheet from one way of reading it ------------------
    # (calamine: parts found case-insensitively with \ read as /, the last match winning; the last
    # attribute named *id of <sheet>; targets starting xl/ taken from the root. The program: exact
    # names, r:id, the first matching Relationship, xl/ + target.)
    rel_dir = m.dir[3:] if m.dir.startswith("xl/") else "/" + m.dir  # the sheets' folder, relative to xl/
    cap, upper = m.file[:1].upper() + m.file[1:], m.file.rsplit(".", 1)[0].upper() + ".xml"
    bs, xlxl, other = m.path.replace("/", "\\"), "xl/" + m.path, "%s/sheet90.xml" % m.dir
    retarget = lambda t, extra="": m.rels.replace(m.rel_el, relationship(m.rid, t, extra), 1)
    rel90 = add_before(m.rels, "</Relationships>", relationship("rId90", "%s/sheet90.xml" % rel_dir))
    amb = lambda f, attack, data: add("ambiguous_%s.xlsx" % f, "ambiguous", attack, data)
    amb("rels_case", "rels Target %s/%s (other case); the part, with a formula, is %s" % (rel_dir, cap, m.path),
        m.build(parts={rels: retarget("%s/%s" % (rel_dir, cap))}, sheets=[(m.path, formula)]))
    amb("rels_case_clean_exact", "rels Target %s/%s: a clean part of that exact name, then %s with a formula" % (rel_dir, cap, m.path),
        m.build(parts={rels: retarget("%s/%s" % (rel_dir, cap))}, sheets=[("%s/%s" % (m.dir, cap), m.sheet), (m.path, formula)]))
    amb("backslash", "the sheet, with a formula, is the zip entry %s (backslashes); rels unchanged" % bs,
        m.build(sheets=[(bs, formula)]))
    amb("backslash_with_clean", "a clean %s, then %s with a formula" % (m.path, bs), m.build(sheets=[(m.path, m.sheet), (bs, formula)]))
    prefixed = {rels: retarget(m.path), cts: override(m.ct, xlxl)}
    amb("rels_xl_prefix", "rels Target %s (OPC: %s, clean); %s has a formula" % (m.path, xlxl, m.path),
        m.build(parts=prefixed, sheets=[(xlxl, m.sheet), (m.path, formula)]))
    amb("rels_xl_prefix_opc", "rels Target %s: the OPC part %s has a formula, %s is clean" % (m.path, xlxl, m.path),
        m.build(parts=prefixed, sheets=[(m.path, m.sheet), (xlxl, formula)]))
    amb("rels_xl_prefix_only", "rels Target %s (OPC: %s, absent); %s has a formula" % (m.path, xlxl, m.path),
        m.build(parts={rels: retarget(m.path)}, sheets=[(m.path, formula)]))
    ct90 = override(m.ct, other)
    dup = m.rels.replace(m.rel_el, m.rel_el + relationship(m.rid, "%s/sheet90.xml" % rel_dir), 1)
    amb("duplicate_rid", "two Relationship Id=%s: the first to the clean sheet, the last to %s with a formula" % (m.rid, other),
        m.build(parts={rels: dup, cts: ct90}, extra=[(other, formula)]))
    both = re.sub(r"\s*/?>$", lambda x: ' id="rId90"' + x.group(0), m.sheet_el)
    amb("sheet_id_and_rid", "the first <sheet> has r:id=%s (clean), then id=rId90 (%s, with a formula)" % (m.rid, other),
        m.build(parts={"xl/workbook.xml": m.wb.replace(m.sheet_el, both, 1), cts: ct90, rels: rel90}, extra=[(other, formula)]))
    amb("entry_case", "zip entries %s (clean), then %s/%s (formula)" % (m.path, m.dir, upper),
        m.build(sheets=[(m.path, m.sheet), ("%s/%s" % (m.dir, upper), formula)]))
    amb("entry_duplicate", "two zip entries named %s: first clean, second with a formula" % m.path,
        m.build(sheets=[(m.path, m.sheet), (m.path, formula)]))
    amb("entry_duplicate_formula_first", "two zip entries named %s: first with a formula, second clean" % m.path,
        m.build(sheets=[(m.path, formula), (m.path, m.sheet)]))
    amb("rels_outside", "rels Target ../../%s (above the package root: /%s by RFC 3986), which has a formula" % (m.file, m.file),
        m.build(parts={rels: retarget("../../" + m.file), cts: override(m.ct, m.file)}, sheets=[(m.path, m.sheet), (m.file, formula)]))
    amb("rels_absolute_dotdot", "rels Target /../%s (/%s once normalised), the sheet with a formula" % (m.path, m.path),
        m.build(parts={rels: retarget("/../" + m.path)}, sheets=[(m.path, formula)]))
    amb("rels_external", "the first sheet's relationship is TargetMode=External (target %s, with a formula)" % attr(m.rel_el, "Target"),
        m.build(parts={rels: retarget(attr(m.rel_el, "Target"), ' TargetMode="External"')}, sheets=[(m.path, formula)]))

    # -- formulas, hidden sheets, rows and columns ------------------------------------------------
    add("formula_plain.xlsx", "formula", "<f>SUM(1,2)</f><v>3</v> in the first filled 得分 cell",
        m.build(sheet=put_cell(m.sheet, score_ref, "<f>SUM(1,2)</f><v>3</v>")))
    shared = '<f t="shared" ref="%s:%s9999" si="0">SUM(1,2)</f><v>3</v>' % (score_ref, col)
    add("formula_shared.xlsx", "formula", "a shared formula %s in the first filled 得分 cell" % shared[:40],
        m.build(sheet=put_cell(m.sheet, score_ref, shared)))
    hidden = ('<worksheet xmlns="%s"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>得分</t></is></c></row>'
              '<row r="2"><c r="A2"><v>20</v></c></row></sheetData></worksheet>' % MAIN)
    for state in ("hidden", "veryHidden"):
        el = '<sheet xmlns:r="%s" name="真数据" sheetId="90" state="%s" r:id="rId90"/>' % (NS_R, state)
        add("hidden_sheet_%s.xlsx" % state.lower(), "hidden_sheet", 'a second sheet with state="%s"' % state,
            m.build(parts={"xl/workbook.xml": add_before(m.wb, "</sheets>", el), cts: ct90, rels: rel90}, extra=[(other, hidden)]))
    add("hidden_row.xlsx", "hidden_rows", 'the first filled row has hidden="1"', m.build(sheet=set_row_attrs(m.sheet, m.row, hidden="1")))
    add("hidden_row_zero_height.xlsx", "hidden_rows", 'the first filled row has ht="0" customHeight="1"',
        m.build(sheet=set_row_attrs(m.sheet, m.row, ht="0", customHeight="1")))
    fmt = re.search(r"<sheetFormatPr\b[^>]*>", m.sheet)
    zero = m.sheet.replace(fmt.group(0), set_attr(fmt.group(0), zeroHeight="1"), 1) if fmt else re.sub(
        r"(<cols>|<sheetData)", r'<sheetFormatPr defaultRowHeight="15" zeroHeight="1"/>\1', m.sheet, count=1)
    add("hidden_rows_zero_height_default.xlsx", "hidden_rows", '<sheetFormatPr zeroHeight="1">: rows hidden by default',
        m.build(sheet=zero))
    add("hidden_column.xlsx", "hidden_columns", 'the 得分 column (%s) has <col hidden="1">' % col,
        m.build(sheet=set_col(m.sheet, col_index(col), hidden="1")))
    add("hidden_column_zero_width.xlsx", "hidden_columns", 'the 得分 column (%s) has <col width="0" customWidth="1">' % col,
        m.build(sheet=set_col(m.sheet, col_index(col), width="0", customWidth="1")))

    # -- memory and CPU through the XML ----------------------------------------------------------
    for file, cells, width in (("too_much_text.xlsx", 128000, 16), ("too_much_text_million.xlsx", 1000000, 64)):
        sst, i = m.add_sst("长" * 32767)
        letters, n = [col_letters(k) for k in range(1, width + 1)], last + cells // width
        rows = "".join('<row r="%d">%s</row>' % (r, "".join('<c r="%s%d" t="s"><v>%d</v></c>' % (c, r, i) for c in letters))
                       for r in range(last + 1, n + 1))
        sheet = set_dimension(add_before(m.sheet, "</sheetData>", rows), "A1:%s%d" % (letters[-1], n))
        add(file, "too_much_text", "one 32,767-character shared string referenced by %d cells after the data rows" % cells,
            m.build(sheet=sheet, parts={SST: sst}))
    many = "".join(' a%d="1"' % k for k in range(1, 50001))
    add("xml_attributes_one_element.xlsx", "xml_attributes", "the first filled 得分 <c> has 50,000 distinct attributes",
        m.build(sheet=put_cell(m.sheet, score_ref, "<v>%s</v>" % score, extra=many)))
    far, k, rows = len(m.titles) + 3, 0, []
    for r in range(last + 1, last + 101):  # 100 rows of 10 empty cells, 1,000 attributes each
        cells = []
        for cc in range(far, far + 10):
            cells.append('<c r="%s%d"%s/>' % (col_letters(cc), r, "".join(' a%d="1"' % a for a in range(k, k + 1000))))
            k += 1000
        rows.append('<row r="%d">%s</row>' % (r, "".join(cells)))
    add("xml_attributes_million.xlsx", "xml_attributes", "1,000,000 distinct attributes over 1,000 empty cells after the data",
        m.build(sheet=add_before(m.sheet, "</sheetData>", "".join(rows))))
    twice = ' r="%s%d"' % (col, m.row + 1)
    add("xml_attributes_duplicate.xlsx", "xml_attributes", 'the first filled 得分 cell is <c r="%s"%s> (attribute twice)' % (score_ref, twice),
        m.build(sheet=put_cell(m.sheet, score_ref, "<v>%s</v>" % score, extra=twice)))

    def doctype(xml, decl):
        at = xml.index("?>") + 2 if xml.startswith("<?xml") else 0
        return xml[:at] + decl + xml[at:]

    note = m.ref(max(m.titles, key=lambda t: col_index(m.titles[t])), m.row)  # the last column (备注)
    lol = "".join('<!ENTITY lol%d "%s">' % (k, ("&lol%s;" % (k - 1 if k > 1 else "")) * 10) for k in range(1, 10))
    for f, decl, ent, what in (("billion_laughs", '<!DOCTYPE sst [<!ENTITY lol "lol">%s]>' % lol, "&lol9;", "billion laughs"),
                               ("external", '<!DOCTYPE sst [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>', "&xxe;", "an external entity")):
        sst, i = m.add_sst(ent, doctype(m.sst_xml, decl))
        add("xml_entities_%s.xlsx" % f, "xml_entities", "%s: a DOCTYPE in sharedStrings.xml, %s used in %s" % (what, ent, note),
            m.build(sheet=put_cell(m.sheet, note, "<v>%d</v>" % i, "s"), parts={SST: sst}))
    entity = put_cell(doctype(m.sheet, '<!DOCTYPE worksheet [<!ENTITY s "%s">]>' % score), score_ref, "<v>&s;</v>")
    add("xml_entities_internal_sheet.xlsx", "xml_entities", "a DOCTYPE in the sheet: an internal entity is the 得分 value",
        m.build(sheet=entity))

    template = row.group(0).replace("{", "{{").replace("}", "}}")
    template = re.sub(r'(\sr="[A-Z]*)%d"' % m.row, lambda x: x.group(1) + '{n}"', template)
    data = re.search(r"<sheetData>(.*)</sheetData>", m.sheet, re.S)
    rows = find_row(m.sheet, 1).group(0) + "".join(template.format(n=n) for n in range(2, 20052))
    sheet = set_dimension(m.sheet[: data.start(1)] + rows + m.sheet[data.end(1):], "A1:%s20051" % col_letters(len(m.titles)))
    add("too_many_rows.xlsx", "too_many_rows", "20,050 filled data rows (the first filled row repeated)", m.build(sheet=sheet))

    # -- unsafe text in a filled violations row (shared strings use Excel's _xHHHH_ escapes) -------------
    for f, what, title, text, inline, kind in (
            ("esc", "ESC colour codes as _x001B_, shared string", "说明", "已整改_x001B_[31m严重_x001B_[0m", False, "unsafe_text"),
            ("esc_raw", "raw ESC bytes (illegal in XML 1.0)", "说明", "已整改\x1b[31m严重\x1b[0m", True, "damaged_or_unsafe"),
            ("esc_charref", "ESC as &#27; (illegal in XML 1.0)", "说明", "已整改&#27;[31m严重&#27;[0m", True, "damaged_or_unsafe"),
            ("bel", "BEL as _x0007_, shared string", "说明", "请注意_x0007__x0007_", False, "unsafe_text"),
            ("bel_raw", "raw BEL bytes", "说明", "请注意\x07\x07", True, "damaged_or_unsafe"),
            ("vt", "a vertical tab as _x000B_, shared string", "说明", "第一行_x000B_第二行", False, "unsafe_text"),
            ("vt_raw", "a raw vertical tab byte", "说明", "第一行\x0b第二行", True, "damaged_or_unsafe"),
            ("rlo", "U+202E RIGHT-TO-LEFT OVERRIDE, inline string", "编号", "WY-01\u202e10-YW", True, "unsafe_text"),
            ("line_separator", "U+2028 LINE SEPARATOR, inline string", "说明", "已整改\u2028已复核", True, "unsafe_text"),
            ("zero_width_space", "U+200B ZERO WIDTH SPACE, shared string", "编号", "WY\u200b-01", False, "unsafe_text"),
            ("bom", "U+FEFF at the start, shared string", "编号", "\ufeffWY-01", False, "unsafe_text")):
        sheet, sst = v.text_cell(v.sheet, v.ref(title, v.row), text if "&#" in text else esc(text), inline)
        out("unsafe_text_%s.xlsx" % f, kind, "violations", "%s in the %s cell of a filled row" % (what, title),
            v.build(sheet=sheet, parts={SST: sst}))

    # -- scores that are not numbers, a period that is not the one imported -------------------------
    for f, what, t, text in (("underscore", "the text 1_5", None, "1_5"), ("exponent", "the text 1e1", None, "1e1"),
                             ("hex", "the text 0x10", None, "0x10"), ("inf", "the text inf", None, "inf"),
                             ("boolean", 'a boolean <c t="b"><v>1</v></c>', "b", "1"), ("nan", "a number cell <v>NaN</v>", "n", "NaN")):
        if t:
            sheet, sst = put_cell(m.sheet, score_ref, "<v>%s</v>" % text, None if t == "n" else t), None
        else:
            sheet, sst = m.text_cell(m.sheet, score_ref, text)
        add("not_a_number_%s.xlsx" % f, "not_a_number", "得分 is %s" % what, m.build(sheet=sheet, parts={SST: sst}))
    month = m.value(m.cell(m.ref("月份", m.row)))
    y, sep, mo, rest = re.match(r"(\d{4})(\D*)(\d{1,2})(.*)$", month).groups()
    nxt = "%d%s%0*d%s" % (int(y) + int(mo) // 12, sep, len(mo), int(mo) % 12 + 1, rest)
    sst, i = m.add_sst(esc(nxt))
    sheet = m.sheet
    for n in m.rows:
        if n > 1 and m.value(m.cell(m.ref("月份", n))) == month:
            sheet = put_cell(sheet, m.ref("月份", n), "<v>%d</v>" % i, "s")
    add("wrong_period.xlsx", "wrong_period", "every 月份 cell says %s, not %s (import with --month %s)" % (nxt, month, month),
        m.build(sheet=sheet, parts={SST: sst}))


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    manual, violations = Book(sys.argv[1], "manual"), Book(sys.argv[2], "violations")
    outdir = sys.argv[3]
    os.makedirs(outdir, exist_ok=True)
    manifest = []

    def add(file, kind, base, attack, data):
        with open(os.path.join(outdir, file), "wb") as fh:
            fh.write(data)
        manifest.append({"file": file, "attack": attack, "kind": kind, "base": base})

    corpus(manual, violations, add)
    with open(os.path.join(outdir, "manifest.json"), "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()

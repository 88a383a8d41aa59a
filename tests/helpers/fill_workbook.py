"""Fills a workbook the way a person's spreadsheet program would (openpyxl, outside the program).

    fill_workbook.py IN.xlsx OUT.xlsx SPEC.json

SPEC: {"fill": [{"where": {title: value, ...}, "set": {title: value, ...}}, ...],
       "rows": [{title: value, ...}, ...],          # into the first rows nobody filled yet
       "unprotect": true}                            # optional
A value is a JSON number (a number cell), a string (a text cell), {"date": "YYYY-MM-DD"} (a date
cell) or {"formula": "=..."} (a formula). Prints the row numbers written, one per line.
"""
import datetime
import json
import sys

import openpyxl


def value(v):
    if isinstance(v, dict) and "date" in v:
        return datetime.datetime.strptime(v["date"], "%Y-%m-%d")
    if isinstance(v, dict) and "formula" in v:
        return v["formula"]
    return v


def main():
    src, out, spec_path = sys.argv[1:4]
    spec = json.load(open(spec_path, encoding="utf-8"))
    book = openpyxl.load_workbook(src)
    sheet = book.worksheets[0]
    if spec.get("unprotect"):
        sheet.protection.sheet = False
    titles = {c.value: c.column for c in sheet[1] if c.value}
    written = []
    for f in spec.get("fill", []):
        hit = False
        for row in range(2, sheet.max_row + 1):
            if all(str(sheet.cell(row, titles[t]).value) == str(v) for t, v in f["where"].items()):
                for t, v in f["set"].items():
                    sheet.cell(row, titles[t]).value = value(v)
                written.append(row)
                hit = True
        if not hit:
            sys.exit(f"no row matches {f['where']}")
    period_titles = {"月份", "季度", "归口部门"}
    row = 2
    for r in spec.get("rows", []):
        while any(sheet.cell(row, c).value not in (None, "") for t, c in titles.items() if t not in period_titles):
            row += 1
        for t, v in r.items():
            sheet.cell(row, titles[t]).value = value(v)
        written.append(row)
        row += 1
    book.save(out)
    for r in written:
        print(r)


if __name__ == "__main__":
    main()

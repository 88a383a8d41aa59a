"""Parses every DIR/*.eml with Python's email package (a real MIME parser) and prints a JSON list:
recipient, decoded subject, content types, the CIDs the HTML refers to and the inline images
present, attachment names, and the scores read back from the xlsx attachment with openpyxl."""
import email, email.policy, io, json, os, re, sys, urllib.parse
import openpyxl

out = []
d = sys.argv[1]
for name in sorted(f for f in os.listdir(d) if f.endswith(".eml")):
    with open(os.path.join(d, name), "rb") as f:
        raw_bytes = f.read()
    msg = email.message_from_bytes(raw_bytes, policy=email.policy.default)
    raw_text = raw_bytes.decode("ascii", "replace")
    item = {"file": name, "to": str(msg["To"]), "subject": str(msg["Subject"]), "message_id": str(msg["Message-ID"]),
            "types": [], "html_cids": [], "inline_cids": [], "attachments": [], "scores": {}, "text": ""}
    for part in msg.walk():
        ctype = part.get_content_type()
        item["types"].append(ctype)
        if ctype == "text/html":
            item["html_cids"] = sorted(set(re.findall(r'src="cid:([^"]+)"', part.get_content())))
        elif ctype == "text/plain":
            item["text"] = part.get_content()
        elif ctype == "image/png" and part["Content-ID"]:
            assert part.get_payload(decode=True)[1:4] == b"PNG"
            item["inline_cids"].append(part["Content-ID"].strip("<>"))
        elif part.get_content_disposition() == "attachment":
            ascii_name = re.search(r'filename="([^"]*)"', raw_text).group(1)
            utf8 = re.search(r"filename\*=UTF-8''([^;\s]+)", raw_text, re.I)
            item["attachments"].append({"ascii": ascii_name, "utf8": urllib.parse.unquote(utf8.group(1)) if utf8 else None})
            wb = openpyxl.load_workbook(io.BytesIO(part.get_payload(decode=True)))
            # The results sheet is found by its headers (the workbook opens on an overview).
            for ws in wb.worksheets:
                head = [c.value for c in ws[1]]
                for id_title, score_title in (("合作伙伴编号", "考核得分"), ("Partner id", "Score")):
                    if id_title in head and score_title in head:
                        i, s = head.index(id_title), head.index(score_title)
                        for row in ws.iter_rows(min_row=2, values_only=True):
                            item["scores"][row[i]] = row[s]
    out.append(item)
print(json.dumps(out, ensure_ascii=False))

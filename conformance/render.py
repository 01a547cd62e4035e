"""Matrix documents (conformance.matrix) as Markdown and as one self-contained HTML page.

Both views show operation x (target, API version), one symbol a cell, a legend and a summary per
tag.  The HTML page has no external assets: inline CSS and JS sort and filter the table (also
from the URL hash, e.g. `#state=fail,error&tag=Container&version=1.41&q=List`) and each cell
that did not pass links to its findings and a redacted request/response excerpt.
"""

from __future__ import annotations

import html
import json
from typing import Any

from conformance import matrix
from conformance.recorder import STATES
from conformance.redact import redact_headers, redact_text

# Plain Unicode that common fonts (DejaVu, Liberation) carry, so terminals and headless browsers show it.
SYMBOLS = {"pass": "✓", "fail": "✗", "error": "‼", "known-deviation": "⚠", "spec-erratum": "§",
           "not-observed": "∅", "skip": "↷", "n/a": "·", matrix.NOT_RUN: " "}
LABELS = {"pass": "pass", "fail": "fail: the target does not conform", "error": "error: the suite itself broke",
          "known-deviation": "known deviation of the target (deviations file)",
          "spec-erratum": "spec erratum: the spec is wrong, the target is right (schemas/errata.yaml)",
          "not-observed": "documented deviation looked for and not seen (the profile says it is doc-only)",
          "skip": f"skipped ({', '.join(matrix.SKIP_CATEGORIES)})",
          "n/a": "operation absent at this API version", matrix.NOT_RUN: "not run"}
DETAILED = ("error", "fail", "known-deviation", "spec-erratum")  # cells whose findings the reports show
MAX_MD_MESSAGE = 240


def columns(doc: dict[str, Any]) -> list[tuple[str, str]]:
    """(target id, version) pairs in display order: targets as listed, versions ascending."""
    present = {(c["target"], c["version"]) for c in doc["cells"]}
    out = []
    for info in doc["targets"]:
        out += [(info["id"], v) for v in sorted({v for t, v in present if t == info["id"]}, key=matrix.version_key)]
    return out


def short_names(doc: dict[str, Any]) -> dict[str, str]:
    """T1, T2, ... for merged matrices; '' when there is one target (columns are then just versions)."""
    if len(doc["targets"]) == 1:
        return {doc["targets"][0]["id"]: ""}
    return {info["id"]: f"T{n}" for n, info in enumerate(doc["targets"], 1)}


def column_label(tid: str, version: str, names: dict[str, str]) -> str:
    return f"{names[tid]} {version}".strip()


def excused_text(cell: dict[str, Any]) -> str:
    """'27 excused: go-nil (25), other (2)' for a cell whose findings errata or deviations explained."""
    by = cell.get("excused_by") or {}
    return f"{cell.get('excused', 0)} excused: " + ", ".join(f"{k} ({n})" for k, n in by.items())


def cell_text(cell: dict[str, Any]) -> str:
    """A cell's symbol, with its count of excused findings ("§ 27") so that excuses never look like passes."""
    symbol = SYMBOLS.get(cell["state"], "?")
    return f"{symbol} {cell['excused']}" if cell.get("excused") else symbol


def one_line(text: str, limit: int = MAX_MD_MESSAGE) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _md_cell(text: str) -> str:
    return one_line(text).replace("|", "\\|")


def _api_range(info: dict[str, Any]) -> str:
    return f"{info.get('api_min') or '?'}-{info.get('api_max') or '?'}"


def to_markdown(doc: dict[str, Any]) -> str:
    doc = matrix.redact_tree(doc)
    names = short_names(doc)
    cols = columns(doc)
    cells = matrix.index(doc)
    lines = ["# Docker Engine API compatibility matrix", ""]
    lines.append(f"Suite {doc.get('suite_version') or '?'}, generated {doc.get('generated_at', '?')}.")
    lines += ["", "## Targets", "", "| | target | kind | engine | API range | os/arch | run | not applicable |",
              "|---|---|---|---|---|---|---|---|"]
    for info in doc["targets"]:
        lines.append(f"| {names[info['id']] or '-'} | {_md_cell(info['id'])} | {info.get('kind')} | "
                     f"{info.get('engine_version')} | {_api_range(info)} | {info.get('os')}/{info.get('arch')} | "
                     f"{info.get('run_id') or ''} | {', '.join(info.get('not_applicable') or []) or '-'} |")
    lines += ["", "## Legend", ""]
    lines += [f"- {SYMBOLS[s]} {LABELS[s]}" for s in (*STATES, matrix.NOT_RUN)]
    lines += ["", "A cell shows the worst state of the scenarios of that operation at that version; a number after "
              "the symbol counts the findings that errata or deviations excused there.", ""]
    lines += _md_summary(doc)
    lines += ["", "## Matrix", ""]
    lines.append("| operation | tag | " + " | ".join(column_label(t, v, names) for t, v in cols) + " |")
    lines.append("|---|---|" + "---|" * len(cols))
    for op, tag in doc["operations"].items():
        row = [cell_text(cells[(t, v, op)]) if (t, v, op) in cells else SYMBOLS[matrix.NOT_RUN] for t, v in cols]
        lines.append(f"| {op} | {tag} | " + " | ".join(row) + " |")
    lines += _md_promises(doc, cols, names)
    lines += ["", "## Findings", ""]
    detailed = [c for c in doc["cells"] if c["state"] in DETAILED]
    if not detailed:
        lines.append("None: every cell that ran passed or was skipped.")
    for state in DETAILED:
        chosen = [c for c in detailed if c["state"] == state]
        if not chosen:
            continue
        lines += [f"### {SYMBOLS[state]} {state} ({len(chosen)})", ""]
        for cell in sorted(chosen, key=lambda c: (c["operation"], matrix.version_key(c["version"]), c["target"])):
            where = column_label(cell["target"], cell["version"], names)
            excused = f" ({_md_cell(excused_text(cell))})" if cell.get("excused") else ""
            lines.append(f"- **{cell['operation']}** {where}{excused}: {_md_cell(cell.get('reason', ''))}")
    return redact_text("\n".join(lines) + "\n")


def promise_index(doc: dict[str, Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {(c["target"], c["version"], c["promise"]): c for c in doc.get("promise_cells") or []}


def _md_promises(doc: dict[str, Any], cols: list[tuple[str, str]], names: dict[str, str]) -> list[str]:
    """The second table: promise x version (docs/promises.md says what each promise is)."""
    if not doc.get("promises"):
        return []
    cells = promise_index(doc)
    lines = ["", "## Promises", "", "Each cell is the verdict of one behavioural promise (docs/promises.md) at that "
             "version; the operation's cell above counts it too.", "",
             "| promise | tag | " + " | ".join(column_label(t, v, names) for t, v in cols) + " |",
             "|---|---|" + "---|" * len(cols)]
    for pid, about in doc["promises"].items():
        row = [cell_text(cells[(t, v, pid)]) if (t, v, pid) in cells else SYMBOLS[matrix.NOT_RUN] for t, v in cols]
        lines.append(f"| {pid} | {about.get('tag', '')} | " + " | ".join(row) + " |")
    failing = [c for c in doc.get("promise_cells") or [] if c["state"] in ("fail", "error")]
    for cell in failing:
        lines.append(f"- **{cell['promise']}** {column_label(cell['target'], cell['version'], names)}: "
                     f"{_md_cell(cell.get('reason', ''))}")
    return lines


def _html_promises(doc: dict[str, Any], cols: list[tuple[str, str]], names: dict[str, str]) -> list[str]:
    if not doc.get("promises"):
        return []
    cells = promise_index(doc)
    out = ['<h2>Promises</h2><p class="muted">One behavioural promise per row (docs/promises.md); hover a cell for '
           'its reason.</p><table id="promises"><thead><tr><th>promise</th><th>tag</th>']
    out += [f"<th>{_e(column_label(t, v, names))}</th>" for t, v in cols]
    out.append("</tr></thead><tbody>")
    for pid, about in doc["promises"].items():
        out.append(f'<tr data-promise="{_e(pid)}"><td class="op">{_e(pid)}</td><td>{_e(about.get("tag", ""))}</td>')
        out += [_html_cell(cells.get((t, v, pid)), pid, column_label(t, v, names), v) for t, v in cols]
        out.append("</tr>")
    out.append("</tbody></table>")
    return out


def _md_summary(doc: dict[str, Any]) -> list[str]:
    states = [s for s in STATES if any(c["state"] == s for c in doc["cells"])]
    lines = ["## Summary by tag", "", "| tag | " + " | ".join(f"{SYMBOLS[s]} {s}" for s in states) + " |",
             "|---|" + "---|" * len(states)]
    for tag, group in matrix.counts(doc, "tag").items():
        lines.append(f"| {tag or '-'} | " + " | ".join(str(group.get(s, 0)) for s in states) + " |")
    total = matrix.counts(doc)
    lines.append("| **all** | " + " | ".join(f"**{total.get(s, 0)}**" for s in states) + " |")
    skipped = matrix.skip_counts(doc)
    if skipped:
        lines += ["", "Skipped cells by category: " + ", ".join(f"{cat} {n}" for cat, n in skipped.items())]
    return lines


# ---------------------------------------------------------------- HTML

CSS = """
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.2em;color:#1b1f24;background:#fff}
h1{font-size:1.5em;margin:.2em 0}h2{font-size:1.2em;margin:1.2em 0 .4em}
table{border-collapse:collapse}th,td{border:1px solid #d0d7de;padding:2px 6px}
#matrix th{position:sticky;top:0;background:#f6f8fa;cursor:pointer;white-space:nowrap;z-index:1}
#matrix td.cell{text-align:center;min-width:2.2em;cursor:default}
#matrix td.op{font-family:ui-monospace,monospace;white-space:nowrap}
.s-pass{background:#dafbe1;color:#116329}.s-fail,.s-error{color:#82071e;font-weight:bold}.s-fail{background:#ffc1c0}.s-error{background:#ff8182}
.s-known-deviation{background:#fff1a8}.s-spec-erratum{background:#ddf4ff}.s-skip{background:#f3f4f6;color:#57606a}
.s-na{background:#fff;color:#afb8c1}.s-not-run{background:#fff}
td.linked{cursor:pointer;text-decoration:underline dotted}
.filters{display:flex;flex-wrap:wrap;gap:.8em;align-items:center;margin:.6em 0;padding:.5em;background:#f6f8fa}
.filters label{white-space:nowrap}.legend{display:flex;flex-wrap:wrap;gap:.3em 1.2em}.legend>span{white-space:nowrap}
.counter{color:#57606a}details{margin:.3em 0;border:1px solid #d0d7de;padding:.3em .6em}
details[open]{background:#fcfcfd}summary{cursor:pointer}
pre{background:#f6f8fa;padding:.4em;overflow:auto;max-height:18em;white-space:pre-wrap;word-break:break-all}
.findings td{vertical-align:top}.muted{color:#57606a}[hidden]{display:none!important}
"""

JS = r"""
(function(){
  const table=document.getElementById('matrix'), body=table.tBodies[0];
  const rows=[...body.rows], heads=[...table.tHead.rows[0].cells];
  const form=document.getElementById('filters');
  const ORDER=JSON.parse(document.getElementById('state-order').textContent);
  const f=name=>form.elements.namedItem(name);  // not form[name]: names like "target" shadow form properties
  function selected(name){return [...form.querySelectorAll('[name='+name+']')].filter(e=>e.checked).map(e=>e.value)}
  function readHash(){
    const p=new URLSearchParams(location.hash.slice(1));
    const set=(name,vals)=>{if(vals===null)return;const want=vals.split(',');
      form.querySelectorAll('[name='+name+']').forEach(e=>{e.checked=want.includes(e.value)})};
    set('state',p.get('state'));
    if(p.get('tag')!==null)f('tag').value=p.get('tag');
    if(p.get('version')!==null)f('version').value=p.get('version');
    if(p.get('target')!==null)f('target').value=p.get('target');
    if(p.get('q')!==null)f('q').value=p.get('q');
  }
  function writeHash(){
    const p=new URLSearchParams();const st=selected('state');
    if(st.length!==ORDER.length)p.set('state',st.join(','));
    for(const k of ['tag','version','target','q'])if(f(k).value)p.set(k,f(k).value);
    history.replaceState(null,'',p.toString()?'#'+p.toString():location.pathname);
  }
  function apply(){
    const states=selected('state'), tag=f('tag').value, version=f('version').value, target=f('target').value;
    const q=f('q').value.trim().toLowerCase();
    const colShown=heads.map(h=>!h.dataset.version||
      ((!version||h.dataset.version===version)&&(!target||h.dataset.target===target)));
    heads.forEach((h,i)=>h.hidden=!colShown[i]);
    let shown=0;
    for(const r of rows){
      const cells=[...r.cells];cells.forEach((c,i)=>c.hidden=!colShown[i]);
      const visibleStates=cells.filter((c,i)=>colShown[i]&&c.dataset.state).map(c=>c.dataset.state);
      const ok=(!tag||r.dataset.tag===tag)&&(!q||r.dataset.op.toLowerCase().includes(q))&&
        visibleStates.some(s=>states.includes(s));
      r.hidden=!ok;if(ok)shown++;
    }
    document.getElementById('shown').textContent=shown+' of '+rows.length+' operations shown';
    for(const d of document.querySelectorAll('#details details')){
      d.hidden=!(states.includes(d.dataset.state)&&(!tag||d.dataset.tag===tag)&&(!version||d.dataset.version===version)
        &&(!target||d.dataset.target===target)&&(!q||d.dataset.op.toLowerCase().includes(q)));
    }
    writeHash();
  }
  let sortCol=-1,sortDir=1;
  function sortBy(i){
    sortDir=(sortCol===i)?-sortDir:1;sortCol=i;
    const key=r=>{const c=r.cells[i];
      if(c.dataset.state!==undefined){const k=ORDER.indexOf(c.dataset.state);return k<0?99:k}
      return c.textContent};
    rows.sort((a,b)=>{const x=key(a),y=key(b);
      return (x<y?-1:x>y?1:0)*sortDir||a.dataset.op.localeCompare(b.dataset.op)});
    rows.forEach(r=>body.appendChild(r));
    heads.forEach((h,j)=>h.dataset.sorted=(j===i?(sortDir>0?'asc':'desc'):''));
  }
  heads.forEach((h,i)=>h.addEventListener('click',()=>sortBy(i)));
  body.addEventListener('click',e=>{const c=e.target.closest('td[data-detail]');if(!c)return;
    const d=document.getElementById(c.dataset.detail);d.hidden=false;d.open=true;d.scrollIntoView({block:'start'})});
  form.addEventListener('input',apply);form.addEventListener('change',apply);
  form.addEventListener('submit',e=>e.preventDefault());
  document.getElementById('reset-filters').addEventListener('click',()=>{form.reset();
    form.querySelectorAll('[name=state]').forEach(e=>e.checked=true);apply()});
  window.addEventListener('hashchange',()=>{readHash();apply()});
  readHash();apply();
  document.body.dataset.ready='1';
})();
"""


def _e(value: Any) -> str:
    return html.escape(str(value if value is not None else ""), quote=True)


def _options(values: list[tuple[str, str]], everything: str) -> str:
    return f'<option value="">{_e(everything)}</option>' + "".join(
        f'<option value="{_e(v)}">{_e(label)}</option>' for v, label in values)


def to_html(doc: dict[str, Any]) -> str:
    doc = matrix.redact_tree(doc)
    names = short_names(doc)
    cols = columns(doc)
    cells = matrix.index(doc)
    states = [*STATES, matrix.NOT_RUN]
    detail_ids: dict[tuple[str, str, str], str] = {}
    for n, cell in enumerate(sorted((c for c in doc["cells"] if c["state"] in DETAILED),
                                    key=lambda c: (c["operation"], matrix.version_key(c["version"]), c["target"]))):
        detail_ids[(cell["target"], cell["version"], cell["operation"])] = f"d{n}"
    tags = sorted(set(doc["operations"].values()))
    versions = sorted({v for _, v in cols}, key=matrix.version_key)
    out = ['<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width,initial-scale=1">',
           "<title>Docker Engine API compatibility matrix</title>", f"<style>{CSS}</style></head><body>",
           "<h1>Docker Engine API compatibility matrix</h1>",
           f'<p class="muted">Suite {_e(doc.get("suite_version") or "?")}, generated {_e(doc.get("generated_at"))}. '
           "A cell shows the worst state of the scenarios of that operation at that API version; "
           "click a red, yellow or blue cell for its findings, a column header to sort.</p>"]
    out += _html_targets(doc, names)
    out.append('<div class="legend">' + "".join(
        f'<span><span class="s-{_css(s)}">&nbsp;{SYMBOLS[s]}&nbsp;</span> {_e(LABELS[s])}</span>' for s in states)
        + "</div>")
    out.append('<h2>Matrix</h2><form id="filters" class="filters">')
    out.append("".join(f'<label><input type="checkbox" name="state" value="{_e(s)}" checked> {SYMBOLS[s]} {_e(s)}'
                       "</label>" for s in states))
    out.append(f'<label>tag <select name="tag">{_options([(t, t) for t in tags], "all tags")}</select></label>')
    out.append(f'<label>version <select name="version">{_options([(v, v) for v in versions], "all versions")}'
               "</select></label>")
    target_opts = [(i["id"], f"{names[i['id']]} {i['id']}".strip()) for i in doc["targets"]]
    out.append(f'<label>target <select name="target">{_options(target_opts, "all targets")}</select></label>')
    out.append('<label>operation <input type="search" name="q" placeholder="e.g. Container"></label>'
               '<button type="button" id="reset-filters">reset</button>'
               ' <span id="shown" class="counter"></span></form>')
    out.append('<table id="matrix"><thead><tr><th>operation</th><th>tag</th>')
    out += [f'<th data-version="{_e(v)}" data-target="{_e(t)}" title="{_e(t)}">{_e(column_label(t, v, names))}</th>'
            for t, v in cols]
    out.append("</tr></thead><tbody>")
    for op, tag in doc["operations"].items():
        out.append(f'<tr data-op="{_e(op)}" data-tag="{_e(tag)}"><td class="op">{_e(op)}</td><td>{_e(tag)}</td>')
        out += [_html_cell(cells.get((t, v, op)), op, column_label(t, v, names), v, detail_ids.get((t, v, op)))
                for t, v in cols]
        out.append("</tr>")
    out.append("</tbody></table>")
    out += _html_promises(doc, cols, names)
    out += _html_summary(doc)
    out += _html_details(doc, detail_ids, names)
    out.append(f'<script type="application/json" id="state-order">{json.dumps(states)}</script>')
    out.append(f"<script>{JS}</script></body></html>")
    return redact_text("\n".join(out))


def _html_cell(cell: dict[str, Any] | None, row: str, column: str, version: str, detail: str | None = None) -> str:
    """One matrix cell: its state's colour and symbol, a title with the excused count and reason, a detail link."""
    state = cell["state"] if cell else matrix.NOT_RUN
    title = f"{row} {column}: {state}"
    if cell and cell.get("excused"):
        title += f" ({excused_text(cell)})"
    if cell and cell.get("reason"):
        title += " - " + one_line(cell["reason"], 400)
    extra = f' data-detail="{detail}"' if detail else ""
    return (f'<td class="cell s-{_css(state)}{" linked" if detail else ""}" data-state="{_e(state)}" '
            f'data-version="{_e(version)}"{extra} title="{_e(title)}">{_e(cell_text(cell) if cell else SYMBOLS[state])}'
            "</td>")


def _css(state: str) -> str:
    """A class-name-safe token for a state (`n/a` -> `na`, `not run` -> `not-run`)."""
    return state.replace("/", "").replace(" ", "-")


def _html_targets(doc: dict[str, Any], names: dict[str, str]) -> list[str]:
    out = ["<h2>Targets</h2><table><tr><th></th><th>target</th><th>kind</th><th>engine</th><th>API range</th>"
           "<th>os/arch</th><th>run</th><th>not applicable</th></tr>"]
    for info in doc["targets"]:
        out.append(f"<tr><td>{_e(names[info['id']] or '-')}</td><td>{_e(info['id'])}</td><td>{_e(info.get('kind'))}"
                   f"</td><td>{_e(info.get('engine_version'))}</td><td>{_e(_api_range(info))}</td>"
                   f"<td>{_e(info.get('os'))}/{_e(info.get('arch'))}</td><td>{_e(info.get('run_id') or '')}</td>"
                   f"<td>{_e(', '.join(info.get('not_applicable') or []) or '-')}</td></tr>")
    return out + ["</table>"]


def _html_summary(doc: dict[str, Any]) -> list[str]:
    states = [s for s in STATES if any(c["state"] == s for c in doc["cells"])]
    out = ['<h2>Summary by tag</h2><table id="summary"><tr><th>tag</th>'
           + "".join(f'<th class="s-{_css(s)}">{SYMBOLS[s]} {_e(s)}</th>' for s in states) + "</tr>"]
    for tag, group in matrix.counts(doc, "tag").items():
        out.append(f"<tr><td>{_e(tag or '-')}</td>" + "".join(f"<td>{group.get(s, 0)}</td>" for s in states) + "</tr>")
    total = matrix.counts(doc)
    out.append("<tr><th>all</th>" + "".join(f"<th>{total.get(s, 0)}</th>" for s in states) + "</tr></table>")
    skipped = matrix.skip_counts(doc)
    if skipped:
        out.append('<p id="skips">Skipped cells by category: '
                   + ", ".join(f"{_e(cat)} {n}" for cat, n in skipped.items()) + "</p>")
    return out


def _html_details(doc: dict[str, Any], detail_ids: dict[tuple[str, str, str], str],
                  names: dict[str, str]) -> list[str]:
    out = ['<h2>Findings</h2><div id="details">']
    if not detail_ids:
        out.append("<p>None: every cell that ran passed or was skipped.</p>")
    cells = matrix.index(doc)
    for key, detail in detail_ids.items():
        cell = cells[key]
        where = column_label(cell["target"], cell["version"], names)
        out.append(f'<details id="{detail}" data-state="{_e(cell["state"])}" data-tag="{_e(cell.get("tag", ""))}" '
                   f'data-version="{_e(cell["version"])}" data-target="{_e(cell["target"])}" '
                   f'data-op="{_e(cell["operation"])}"><summary><span class="s-{_css(cell["state"])}">'
                   f'{SYMBOLS[cell["state"]]} {_e(cell["state"])}</span> <b>{_e(cell["operation"])}</b> '
                   f'{_e(where)} <span class="muted">{_e(cell["target"])}</span></summary>')
        for entry in cell.get("entries", []):
            if entry["state"] not in DETAILED:
                continue
            out.append(f"<p>scenario <b>{_e(entry.get('scenario', '?'))}</b>: {_e(entry['state'])}"
                       f"{', HTTP ' + _e(entry['status']) if entry.get('status') else ''}"
                       f"{' — ' + _e(entry['reason']) if entry.get('reason') else ''}"
                       f" <span class=\"muted\">{_e(entry.get('nodeid', ''))}</span></p>")
            out += _html_findings(entry)
            out += _html_exchange(entry.get("exchange"))
        out.append("</details>")
    return out + ["</div>"]


def _html_findings(entry: dict[str, Any]) -> list[str]:
    findings = entry.get("findings") or []
    if not findings:
        return []
    out = ['<table class="findings"><tr><th>check</th><th>state</th><th>expected / actual</th><th>where</th>'
           "<th>explained by</th></tr>"]
    for f in findings:
        explained = f.get("expectation", "")
        if f.get("reason"):
            explained = f"{explained}: {f['reason']}" if explained else f["reason"]
        out.append(f"<tr><td>{_e(f.get('check'))}</td><td>{_e(f.get('state'))}</td><td>{_e(f.get('message'))}</td>"
                   f"<td>{_e(f.get('pointer') or '')}</td><td>{_e(explained)}</td></tr>")
    return out + ["</table>"]


def _html_exchange(exchange: dict[str, Any] | None) -> list[str]:
    if not exchange:
        return []
    req, resp = exchange.get("request") or {}, exchange.get("response") or {}
    request = f"{req.get('method', '')} {req.get('path', '')}\n" + _headers(req.get("headers"))
    if req.get("body"):
        request += "\n" + str(req["body"])
    response = f"HTTP {resp.get('status', '')}\n" + _headers(resp.get("headers"))
    if resp.get("body"):
        response += "\n" + str(resp["body"])
    return [f"<details><summary>request</summary><pre>{_e(redact_text(request))}</pre></details>",
            f"<details><summary>response</summary><pre>{_e(redact_text(response))}</pre></details>"]


def _headers(headers: dict[str, Any] | None) -> str:
    clean = redact_headers({str(k): str(v) for k, v in (headers or {}).items()})
    return "".join(f"{k}: {v}\n" for k, v in clean.items())

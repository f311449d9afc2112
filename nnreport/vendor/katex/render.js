// nnreport's KaTeX runner: reads a JSON list of [tex, display] from the file argv[2], writes
// a JSON list of {html} or {error} to the file argv[3]. No network, no file access beyond katex.min.js
// beside this file; trust is off, so \href, \url, \includegraphics and the like are refused.
"use strict";
const path = require("path");
const katex = require(path.join(__dirname, "katex.min.js"));
const SENTINEL = "#c00d01";
const macros = {
  "\\shortintertext": "\\text{#1}",
};
const fs = require("fs");
{
  const out = JSON.parse(fs.readFileSync(process.argv[2], "utf8")).map(([tex, display]) => {
    try {
      const html = katex.renderToString(tex, {displayMode: !!display, throwOnError: true,
        strict: "ignore", trust: false, output: "htmlAndMathml", macros: {...macros},
        maxSize: 50, maxExpand: 10000, errorColor: SENTINEL});
      // an untrusted command (\href, \url, ...) is drawn in errorColor rather than thrown
      if (html.includes(SENTINEL)) return {error: "a command that is not allowed (untrusted)"};
      return {html};
    } catch (e) {
      return {error: String(e.message || e)};
    }
  });
  fs.writeFileSync(process.argv[3], JSON.stringify(out));
}

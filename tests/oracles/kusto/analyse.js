#!/usr/bin/env node
// Test oracle: Microsoft's KQL analyser (Kusto.Language, compiled to JS) as a line server.
//
// Usage: node analyse.js SCHEMA_JSON
//
// SCHEMA_JSON maps each table to its columns: {"Table": {"Column": "kusto type", ...}, ...}.
// The process then reads one JSON object per line on stdin, {"query": "..."}, and answers each
// with one JSON line on stdout:
//
//   {"diagnostics": [{"code", "severity", "message", "start", "length"}, ...],
//    "columns": [{"name", "type"}, ...],
//    "string_literals": ["decoded value", ...]}
//
// or {"error": "..."} when the request is malformed or the analyser itself throws.
// Before the first request it writes {"ready": true, "tables": N} once the schema is loaded and
// the analyser warmed up, so that a client can tell a failed start from a slow query.
// Diagnostics of every severity are reported; callers filter on "severity" ("Error" matters).
// start and length count Unicode code points (Python str indices), not UTF-16 units.
// columns are those of the query's result when it is tabular, otherwise empty.
// string_literals are the decoded values of every string literal token, in source order.
"use strict";

const fs = require("fs");
const path = require("path");
const vm = require("vm");

const PACKAGE_DIR = path.join(__dirname, "node_modules", "@kusto", "language-service-next");

// bridge.js and Kusto.Language.Bridge.js are browser-style scripts that define the globals
// Bridge, System and Kusto. Run in this context, outside a CommonJS wrapper, they do just that.
function loadKustoLanguage() {
    for (const name of ["bridge.js", "Kusto.Language.Bridge.js"]) {
        const file = path.join(PACKAGE_DIR, name);
        vm.runInThisContext(fs.readFileSync(file, "utf8"), { filename: file });
    }
    return globalThis.Kusto.Language;
}

const K = loadKustoLanguage();
const Symbols = K.Symbols;
const STRING_LITERAL_TOKEN = K.Syntax.SyntaxKind.StringLiteralToken;

// Type names accepted in the schema, with the aliases Kusto itself accepts.
const SCALAR_TYPES = {
    bool: Symbols.ScalarTypes.Bool,
    boolean: Symbols.ScalarTypes.Bool,
    int: Symbols.ScalarTypes.Int,
    long: Symbols.ScalarTypes.Long,
    real: Symbols.ScalarTypes.Real,
    double: Symbols.ScalarTypes.Real,
    decimal: Symbols.ScalarTypes.Decimal,
    datetime: Symbols.ScalarTypes.DateTime,
    date: Symbols.ScalarTypes.DateTime,
    timespan: Symbols.ScalarTypes.TimeSpan,
    time: Symbols.ScalarTypes.TimeSpan,
    guid: Symbols.ScalarTypes.Guid,
    uniqueid: Symbols.ScalarTypes.Guid,
    string: Symbols.ScalarTypes.String,
    dynamic: Symbols.ScalarTypes.Dynamic,
};

function buildGlobals(schemaPath) {
    const schema = JSON.parse(fs.readFileSync(schemaPath, "utf8"));
    const tables = Object.entries(schema).map(([tableName, columns]) => {
        const symbols = Object.entries(columns).map(([columnName, typeName]) => {
            const type = SCALAR_TYPES[String(typeName).toLowerCase()];
            if (type === undefined) {
                throw new Error(`${schemaPath}: ${tableName}.${columnName}: unknown type ` +
                    `'${typeName}'; known: ${Object.keys(SCALAR_TYPES).join(", ")}`);
            }
            return new Symbols.ColumnSymbol(columnName, type, null, null, null, null);
        });
        return new Symbols.TableSymbol.$ctor4(tableName, symbols);
    });
    const database = new Symbols.DatabaseSymbol.ctor("db", tables);
    return K.GlobalState.Default.WithDatabase(database);
}

// Converts a UTF-16 offset into `text` to a code point offset.
function codePointOffset(text, utf16Offset) {
    return Array.from(text.slice(0, utf16Offset)).length;
}

function listItems(list) {
    const items = [];
    for (let i = 0; i < list.Count; i++) {
        items.push(list.getItem(i));
    }
    return items;
}

function describeDiagnostic(query, diagnostic) {
    const start = codePointOffset(query, diagnostic.Start);
    const end = codePointOffset(query, diagnostic.Start + diagnostic.Length);
    return {
        code: diagnostic.Code,
        severity: diagnostic.Severity,
        message: diagnostic.Message,
        start: start,
        length: end - start,
    };
}

function resultColumns(code) {
    const type = code.ResultType;
    if (type === null || !Bridge.is(type, Symbols.TableSymbol)) {
        return [];
    }
    return listItems(type.Columns).map((column) => ({ name: column.Name, type: column.Type.Name }));
}

function stringLiterals(code) {
    const values = [];
    code.Syntax.WalkTokens((token) => {
        if (token.Kind === STRING_LITERAL_TOKEN) {
            values.push(token.ValueText);
        }
    });
    return values;
}

function analyse(globals, request) {
    if (request === null || typeof request.query !== "string") {
        return { error: 'expected a JSON object {"query": string}' };
    }
    const query = request.query;
    const code = K.KustoCode.ParseAndAnalyze(query, globals);
    return {
        diagnostics: listItems(code.GetDiagnostics()).map((d) => describeDiagnostic(query, d)),
        columns: resultColumns(code),
        string_literals: stringLiterals(code),
    };
}

function answer(globals, line) {
    try {
        return analyse(globals, JSON.parse(line));
    } catch (exc) {
        return { error: String(exc && exc.stack ? exc.stack : exc) };
    }
}

function main() {
    if (process.argv.length !== 3) {
        process.stderr.write("usage: node analyse.js SCHEMA_JSON\n");
        process.exit(2);
    }
    const globals = buildGlobals(process.argv[2]);
    // The first analysis initialises Kusto.Language's lazy tables (about a second): pay it here.
    K.KustoCode.ParseAndAnalyze("print 1", globals);
    const tables = listItems(globals.Database.Tables).length;
    process.stdout.write(JSON.stringify({ ready: true, tables: tables }) + "\n");
    let pending = "";
    process.stdin.setEncoding("utf8");
    process.stdin.on("data", (chunk) => {
        pending += chunk;
        let newline;
        while ((newline = pending.indexOf("\n")) >= 0) {
            const line = pending.slice(0, newline);
            pending = pending.slice(newline + 1);
            if (line.trim() !== "") {
                process.stdout.write(JSON.stringify(answer(globals, line)) + "\n");
            }
        }
    });
}

main();

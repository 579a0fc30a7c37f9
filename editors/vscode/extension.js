// The trig extension's client: starts `trig lsp` (the `trig.path` setting, `trig` on PATH by
// default) for .trig files and lets vscode-languageclient speak the protocol with it. All the
// language knowledge is in the server; highlighting is the TextMate grammar.
'use strict';

const vscode = require('vscode');
const { LanguageClient, TransportKind } = require('vscode-languageclient/node');

let client;

function activate(context) {
  const command = vscode.workspace.getConfiguration('trig').get('path') || 'trig';
  const serverOptions = {
    run: { command, args: ['lsp'], transport: TransportKind.stdio },
    debug: { command, args: ['lsp'], transport: TransportKind.stdio },
  };
  const clientOptions = {
    documentSelector: [
      { scheme: 'file', language: 'trig' },
      { scheme: 'untitled', language: 'trig' },
    ],
    synchronize: {
      fileEvents: vscode.workspace.createFileSystemWatcher('**/*.{trig,txt,html}'),
    },
  };
  client = new LanguageClient('trig', 'trig language server', serverOptions, clientOptions);
  context.subscriptions.push({ dispose: () => client && client.stop() });
  return client.start().catch((err) => {
    vscode.window.showErrorMessage(
      `trig: could not start '${command} lsp' (${err.message}). Set "trig.path" to the trig executable.`);
  });
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };

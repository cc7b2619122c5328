// The @vscode-elements components the panel uses, imported one by one to keep the bundle small.
// They are Lit elements: their styles go through adoptedStyleSheets, which the panel's strict CSP allows.
import "@vscode-elements/elements/dist/vscode-button/index.js";
import "@vscode-elements/elements/dist/vscode-textfield/index.js";
import "@vscode-elements/elements/dist/vscode-single-select/index.js";
import "@vscode-elements/elements/dist/vscode-option/index.js";
import "@vscode-elements/elements/dist/vscode-progress-bar/index.js";

#!/usr/bin/env node
'use strict';
const path = require('node:path');
const fs = require('node:fs');

const entry = path.join(__dirname, '..', 'dist', 'apps', 'cli', 'src', 'main.js');
if (!fs.existsSync(entry)) {
  console.error('synthgate: the CLI is not built yet; run `npm run build` (npm ci does it for you)');
  process.exit(1);
}
require(entry);

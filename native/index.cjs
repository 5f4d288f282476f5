// Loads the compiled addon; throws a clear error when it was not built (oneDNN or a compiler missing).
const path = require('node:path');
module.exports = require(path.join(__dirname, 'build', 'Release', 'onednn.node'));

<?php
// Shim of FusionPBX's footer.
echo "</div>\n</body>\n</html>\n";

<?php
// Shim of FusionPBX's resources/require.php: constants, include path, session, settings, database.
if (!defined('PROJECT_PATH')) {
	define('PROJECT_PATH', '');
	define('PROJECT_ROOT', dirname(__DIR__));
}
set_include_path(PROJECT_ROOT);
$_SERVER['DOCUMENT_ROOT'] = PROJECT_ROOT;
require_once PROJECT_ROOT.'/resources/functions.php';
foreach (glob(PROJECT_ROOT.'/resources/classes/*.php') as $class_file) {
	require_once $class_file;
}
if (session_status() !== PHP_SESSION_ACTIVE) {
	session_start();
}
$shim_config = json_decode((string) file_get_contents(PROJECT_ROOT.'/shim_config.json'), true);
$settings = new settings($shim_config['settings'] ?? []);
$database = new database($shim_config['database'] ?? []);

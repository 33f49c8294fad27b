<?php
// Shim of the few FusionPBX functions the app calls.
function permission_exists($name) {
	return !empty($_SESSION['permissions'][$name]);
}
function escape($string) {
	return is_numeric($string) ? $string : htmlspecialchars((string) $string, ENT_QUOTES | ENT_HTML5, 'UTF-8');
}
function is_uuid($value) {
	return is_string($value) && preg_match('/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i', $value) === 1;
}


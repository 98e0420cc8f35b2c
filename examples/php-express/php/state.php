<?php
// The session as JSON, read without keeping the lock.
session_start(['read_and_close' => true]);
header('Content-Type: application/json');
echo json_encode(['id' => session_id(), 'session' => $_SESSION], JSON_FORCE_OBJECT);

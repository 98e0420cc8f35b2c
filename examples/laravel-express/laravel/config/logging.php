<?php
return [
    'default' => 'stderr',
    'channels' => [
        'stderr' => ['driver' => 'single', 'path' => 'php://stderr', 'level' => 'warning'],
    ],
];

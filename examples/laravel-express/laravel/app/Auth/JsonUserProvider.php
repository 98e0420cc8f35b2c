<?php
namespace App\Auth;

use Illuminate\Auth\GenericUser;
use Illuminate\Contracts\Auth\Authenticatable;
use Illuminate\Contracts\Auth\UserProvider;

/** The example's users, from users.json (shared with the Node side), instead of a database. */
class JsonUserProvider implements UserProvider
{
    /** @var array<int, array{id: int, name: string, password: string}> */
    private array $users;

    public function __construct(string $file)
    {
        $this->users = json_decode(file_get_contents($file), true, 512, JSON_THROW_ON_ERROR);
    }

    private function user(?array $row): ?GenericUser
    {
        return $row ? new GenericUser($row + ['remember_token' => null]) : null;
    }

    public function retrieveById($identifier)
    {
        foreach ($this->users as $row) if ($row['id'] == $identifier) return $this->user($row);
        return null;
    }

    public function retrieveByToken($identifier, $token)
    {
        return null;
    }

    public function updateRememberToken(Authenticatable $user, $token)
    {
    }

    public function retrieveByCredentials(array $credentials)
    {
        foreach ($this->users as $row) if ($row['name'] === ($credentials['name'] ?? null)) return $this->user($row);
        return null;
    }

    public function validateCredentials(Authenticatable $user, array $credentials)
    {
        return hash_equals($user->getAuthPassword(), (string) ($credentials['password'] ?? ''));
    }
}

using System.Text.Json.Serialization;
using Dapper;
using MySqlConnector;

namespace EcpayEvents.Payments.Users;

public sealed record CreateUserRequest(
    [property: JsonPropertyName("username")] string? Username,
    [property: JsonPropertyName("email")] string? Email);

/// <summary>What the creator of a user sees (the only answer that carries the full email).</summary>
public sealed record CreatedUser(
    [property: JsonPropertyName("id")] long Id,
    [property: JsonPropertyName("username")] string Username,
    [property: JsonPropertyName("email")] string Email,
    [property: JsonPropertyName("balance")] long Balance,
    [property: JsonPropertyName("createdAt")] DateTimeOffset CreatedAt);

/// <summary>Creates the caller's user, with a zero balance.</summary>
public sealed class CreateUser(PaymentsDatabase database, TimeProvider time)
{
    public const int MaxUsernameLength = 64;
    public const int MaxEmailLength = 254;

    public static Dictionary<string, string[]> Validate(CreateUserRequest request)
    {
        var errors = new Dictionary<string, string[]>();
        var username = request.Username?.Trim();
        if (string.IsNullOrEmpty(username))
            errors["username"] = ["is required."];
        else if (username.Length is < 3 or > MaxUsernameLength || !username.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.'))
            errors["username"] = [$"must be 3–{MaxUsernameLength} ASCII letters, digits, '_', '-' or '.'."];

        var email = request.Email?.Trim();
        if (string.IsNullOrEmpty(email))
            errors["email"] = ["is required."];
        else if (!IsEmail(email))
            errors["email"] = [$"must be an email address (at most {MaxEmailLength} characters)."];
        return errors;
    }

    // Deliberately plain: one '@', a non-empty local part, a dotted domain, no spaces or control characters.
    private static bool IsEmail(string email)
    {
        if (email.Length > MaxEmailLength || email.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c is '<' or '>' or '"' or ',' or ';'))
            return false;
        var at = email.IndexOf('@');
        if (at <= 0 || at != email.LastIndexOf('@') || at > 64) return false;
        var domain = email[(at + 1)..];
        return domain.Length >= 3 && domain.Contains('.') && !domain.StartsWith('.') && !domain.EndsWith('.') && !domain.Contains("..");
    }

    /// <summary>
    /// Call <see cref="Validate"/> first. Creates the caller's own user, bound to their sub; idempotent: when
    /// the caller already has one, that user is returned (Created false) and the request's fields are ignored.
    /// </summary>
    public async Task<(CreatedUser User, bool Created)> HandleAsync(Caller caller, CreateUserRequest request, CancellationToken ct)
    {
        var username = request.Username!.Trim();
        var email = request.Email!.Trim();
        var now = time.GetUtcNow();
        await using var connection = await database.OpenAsync(ct);
        if (await FindAsync(connection, caller.Sub) is { } existing) return (existing, false);
        try
        {
            var id = await connection.ExecuteScalarAsync<long>(
                "INSERT INTO users (username, email, balance, created_at, sub) VALUES (@username, @email, 0, @createdAt, @sub); SELECT LAST_INSERT_ID();",
                new { username, email, createdAt = now.UtcDateTime, sub = caller.Sub });
            return (new CreatedUser(id, username, email, 0, DbTime.Microseconds(now)), true);
        }
        catch (MySqlException e) when (e.ErrorCode == MySqlErrorCode.DuplicateKeyEntry)
        {
            // The same caller's concurrent request won: theirs is the user.
            return (await FindAsync(connection, caller.Sub) ?? throw new InvalidOperationException("users.sub conflict without a row"), false);
        }
    }

    private static async Task<CreatedUser?> FindAsync(MySqlConnection connection, string sub)
    {
        var row = await connection.QuerySingleOrDefaultAsync<GetUser.UserRow>(
            "SELECT id AS Id, username AS Username, email AS Email, balance AS Balance, created_at AS CreatedAt FROM users WHERE sub = @sub",
            new { sub });
        return row is null ? null : new CreatedUser(row.Id, row.Username, row.Email, row.Balance, DbTime.Utc(row.CreatedAt));
    }
}

using System.Text.Json.Serialization;
using Dapper;
using EcpayEvents.Payments.Users;
using Microsoft.Extensions.Logging;
using MySqlConnector;

namespace EcpayEvents.Payments.Withdrawals;

/// <summary>Withdrawal settings (bound from <c>PaymentsApi:Withdrawal</c>).</summary>
public sealed class WithdrawalOptions
{
    public long MinAmount { get; set; } = 1;
    public long MaxAmount { get; set; } = 199_999;

    public IEnumerable<string> Problems()
    {
        if (MinAmount < 1) yield return "PaymentsApi:Withdrawal:MinAmount must be at least 1.";
        if (MaxAmount < MinAmount) yield return "PaymentsApi:Withdrawal:MaxAmount must be at least MinAmount.";
    }
}

public sealed record WithdrawalRequest([property: JsonPropertyName("amount")] long? Amount);

public sealed record WithdrawalCompleted(
    [property: JsonPropertyName("transactionId")] long TransactionId,
    [property: JsonPropertyName("userId")] long UserId,
    [property: JsonPropertyName("amount")] long Amount,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("balance")] long Balance,
    [property: JsonPropertyName("createdAt")] DateTimeOffset CreatedAt);

public enum WithdrawalOutcome
{
    Completed,
    /// <summary>The Idempotency-Key was used before for the same amount: the first withdrawal, not a second one.</summary>
    Replayed,
    /// <summary>The Idempotency-Key was used before for a different amount.</summary>
    KeyReused,
    /// <summary>No such user, or not the caller's: the same answer, so ids reveal nothing.</summary>
    UserNotFound,
    InsufficientBalance,
    /// <summary>Operators move no money.</summary>
    Forbidden,
}

/// <summary>
/// Debits a balance with one conditional UPDATE (… WHERE balance >= amount), so concurrent withdrawals never overdraw;
/// the transaction and its ledger entry commit with it. The loser of two requests with one Idempotency-Key replays the
/// winner's withdrawal (even when the winner took the whole balance), never a 409.
/// </summary>
public sealed partial class Withdraw(PaymentsDatabase database, WithdrawalOptions options, TimeProvider time, ILogger<Withdraw> log)
{
    public const int MaxIdempotencyKeyLength = IdempotencyKey.MaxLength;

    public Dictionary<string, string[]> Validate(WithdrawalRequest request, string? idempotencyKey = null)
    {
        var errors = new Dictionary<string, string[]>();
        if (IdempotencyKey.Problem(idempotencyKey) is { } keyProblem)
            errors[IdempotencyKey.Header] = [keyProblem];
        if (request.Amount is not { } amount)
            errors["amount"] = ["is required: a whole number of TWD."];
        else if (amount < options.MinAmount || amount > options.MaxAmount)
            errors["amount"] = [$"must be from {options.MinAmount} to {options.MaxAmount} TWD."];
        return errors;
    }

    /// <summary>Call <see cref="Validate"/> first. With InsufficientBalance the current balance is returned.</summary>
    public async Task<(WithdrawalOutcome Outcome, WithdrawalCompleted? Withdrawal, long Balance)> HandleAsync(Caller caller, long userId, WithdrawalRequest request, CancellationToken ct, string? idempotencyKey = null)
    {
        if (caller.IsOperator) return (WithdrawalOutcome.Forbidden, null, 0);
        var amount = request.Amount!.Value;
        var createdAt = DbTime.Microseconds(time.GetUtcNow());
        await using var connection = await database.OpenAsync(ct);
        // Only the owner moves their money (a user's sub never changes, so this holds for the whole request).
        if (!await GetUser.OwnsAsync(connection, caller, userId)) return (WithdrawalOutcome.UserNotFound, null, 0);
        if (idempotencyKey is not null && await ReplayAsync(connection, userId, amount, idempotencyKey, ct) is { } replay)
            return replay;
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var debited = await connection.ExecuteAsync(
            "UPDATE users SET balance = balance - @amount WHERE id = @userId AND balance >= @amount",
            new { userId, amount }, transaction);
        if (debited != 1)
        {
            var balance = await connection.QuerySingleOrDefaultAsync<long?>("SELECT balance FROM users WHERE id = @userId", new { userId }, transaction);
            await transaction.RollbackAsync(ct);
            if (balance is null) return (WithdrawalOutcome.UserNotFound, null, 0);
            // A concurrent request with the same key may have won the row lock and spent the balance
            // this request was checked against: it is the same withdrawal, so replay it, not 409.
            if (idempotencyKey is not null && await ReplayAsync(connection, userId, amount, idempotencyKey, ct) is { } concurrent)
                return concurrent;
            LogInsufficient(log, userId, amount, balance.Value);
            return (WithdrawalOutcome.InsufficientBalance, null, balance.Value);
        }

        long id;
        try
        {
            id = await connection.ExecuteScalarAsync<long>("""
                INSERT INTO transactions (user_id, type, amount, status, idempotency_key, created_at, updated_at) VALUES (@userId, 'withdrawal', @amount, 'completed', @idempotencyKey, @createdAt, @createdAt);
                SELECT LAST_INSERT_ID();
                """, new { userId, amount, idempotencyKey, createdAt = createdAt.UtcDateTime }, transaction);
        }
        catch (MySqlException e) when (e.ErrorCode == MySqlErrorCode.DuplicateKeyEntry && idempotencyKey is not null)
        {
            // A concurrent request with the same key committed first: undo our debit and replay theirs.
            await transaction.RollbackAsync(ct);
            return await ReplayAsync(connection, userId, amount, idempotencyKey, ct)
                ?? throw new InvalidOperationException("Idempotency-Key conflict without a committed withdrawal.");
        }
        var debit = -amount;
        await connection.ExecuteAsync(
            "INSERT INTO ledger_entries (user_id, transaction_id, amount, created_at) VALUES (@userId, @id, @debit, @createdAt)",
            new { userId, id, debit, createdAt = createdAt.UtcDateTime }, transaction);
        var newBalance = await connection.ExecuteScalarAsync<long>("SELECT balance FROM users WHERE id = @userId", new { userId }, transaction);
        await transaction.CommitAsync(ct);
        LogCompleted(log, id, userId, amount, newBalance);
        return (WithdrawalOutcome.Completed, new WithdrawalCompleted(id, userId, amount, "completed", newBalance, createdAt), newBalance);
    }

    private static async Task<(WithdrawalOutcome, WithdrawalCompleted?, long)?> ReplayAsync(MySqlConnection connection, long userId, long amount, string idempotencyKey, CancellationToken ct)
    {
        var previous = await connection.QuerySingleOrDefaultAsync<PreviousWithdrawal>(
            "SELECT t.id AS Id, t.type AS Type, t.amount AS Amount, t.created_at AS CreatedAt, u.balance AS Balance FROM transactions t JOIN users u ON u.id = t.user_id WHERE t.user_id = @userId AND t.idempotency_key = @idempotencyKey",
            new { userId, idempotencyKey });
        if (previous is null) return null;
        // A key first used for a deposit is not this withdrawal (one key namespace per user).
        if (previous.Type != Transactions.TransactionType.Withdrawal || previous.Amount != amount) return (WithdrawalOutcome.KeyReused, null, previous.Balance);
        return (WithdrawalOutcome.Replayed, new WithdrawalCompleted(previous.Id, userId, previous.Amount, "completed", previous.Balance, DbTime.Utc(previous.CreatedAt)), previous.Balance);
    }

    internal sealed class PreviousWithdrawal
    {
        public string Type { get; set; } = "";
        public long Id { get; set; }
        public long Amount { get; set; }
        public DateTime CreatedAt { get; set; }
        public long Balance { get; set; }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Withdrawal {TransactionId} for user {UserId}: {Amount} TWD; balance now {Balance}")]
    private static partial void LogCompleted(ILogger logger, long transactionId, long userId, long amount, long balance);

    [LoggerMessage(Level = LogLevel.Information, Message = "Withdrawal of {Amount} TWD for user {UserId} refused: balance {Balance}")]
    private static partial void LogInsufficient(ILogger logger, long userId, long amount, long balance);
}

using System.Text.Json.Serialization;
using Dapper;
using Microsoft.Extensions.Logging;

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
    UserNotFound,
    InsufficientBalance,
}

/// <summary>
/// Debits a balance, atomically: one conditional UPDATE (… WHERE balance >= amount) takes the row lock
/// and checks the balance in the same statement, so concurrent withdrawals can never overdraw; the
/// withdrawal transaction and its −amount ledger entry commit with it, or nothing does.
/// </summary>
public sealed partial class Withdraw(PaymentsDatabase database, WithdrawalOptions options, TimeProvider time, ILogger<Withdraw> log)
{
    public Dictionary<string, string[]> Validate(WithdrawalRequest request)
    {
        var errors = new Dictionary<string, string[]>();
        if (request.Amount is not { } amount)
            errors["amount"] = ["is required: a whole number of TWD."];
        else if (amount < options.MinAmount || amount > options.MaxAmount)
            errors["amount"] = [$"must be from {options.MinAmount} to {options.MaxAmount} TWD."];
        return errors;
    }

    /// <summary>Call <see cref="Validate"/> first. With InsufficientBalance the current balance is returned.</summary>
    public async Task<(WithdrawalOutcome Outcome, WithdrawalCompleted? Withdrawal, long Balance)> HandleAsync(long userId, WithdrawalRequest request, CancellationToken ct)
    {
        var amount = request.Amount!.Value;
        var createdAt = DbTime.Microseconds(time.GetUtcNow());
        await using var connection = await database.OpenAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var debited = await connection.ExecuteAsync(
            "UPDATE users SET balance = balance - @amount WHERE id = @userId AND balance >= @amount",
            new { userId, amount }, transaction);
        if (debited != 1)
        {
            var balance = await connection.QuerySingleOrDefaultAsync<long?>("SELECT balance FROM users WHERE id = @userId", new { userId }, transaction);
            await transaction.RollbackAsync(ct);
            if (balance is null) return (WithdrawalOutcome.UserNotFound, null, 0);
            LogInsufficient(log, userId, amount, balance.Value);
            return (WithdrawalOutcome.InsufficientBalance, null, balance.Value);
        }

        var id = await connection.ExecuteScalarAsync<long>("""
            INSERT INTO transactions (user_id, type, amount, status, created_at, updated_at) VALUES (@userId, 'withdrawal', @amount, 'completed', @createdAt, @createdAt);
            SELECT LAST_INSERT_ID();
            """, new { userId, amount, createdAt = createdAt.UtcDateTime }, transaction);
        var debit = -amount;
        await connection.ExecuteAsync(
            "INSERT INTO ledger_entries (user_id, transaction_id, amount, created_at) VALUES (@userId, @id, @debit, @createdAt)",
            new { userId, id, debit, createdAt = createdAt.UtcDateTime }, transaction);
        var newBalance = await connection.ExecuteScalarAsync<long>("SELECT balance FROM users WHERE id = @userId", new { userId }, transaction);
        await transaction.CommitAsync(ct);
        LogCompleted(log, id, userId, amount, newBalance);
        return (WithdrawalOutcome.Completed, new WithdrawalCompleted(id, userId, amount, "completed", newBalance, createdAt), newBalance);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Withdrawal {TransactionId} for user {UserId}: {Amount} TWD; balance now {Balance}")]
    private static partial void LogCompleted(ILogger logger, long transactionId, long userId, long amount, long balance);

    [LoggerMessage(Level = LogLevel.Information, Message = "Withdrawal of {Amount} TWD for user {UserId} refused: balance {Balance}")]
    private static partial void LogInsufficient(ILogger logger, long userId, long amount, long balance);
}

using System.Text.Json.Serialization;
using Dapper;
using EcpayEvents.Ecpay;
using EcpayEvents.Messaging.StepFunctions;
using EcpayEvents.Payments.Users;
using Microsoft.Extensions.Logging;
using MySqlConnector;

namespace EcpayEvents.Payments.Deposits;

public sealed record DepositRequest(
    [property: JsonPropertyName("amount")] long? Amount,
    [property: JsonPropertyName("paymentMethod")] string? PaymentMethod,
    [property: JsonPropertyName("itemName")] string? ItemName);

public sealed record DepositCreated(long TransactionId, long UserId, string MerchantTradeNo, long Amount, string PaymentMethod, DateTimeOffset ExpiresAt, DateTimeOffset CreatedAt);

public enum DepositOutcome
{
    Created,
    /// <summary>No such user, or not the caller's: the same answer, so ids reveal nothing.</summary>
    UserNotFound,
    /// <summary>Operators move no money.</summary>
    Forbidden,
    /// <summary>The timeout could not be scheduled: nothing was written (the deposit was rolled back).</summary>
    SchedulingFailed,
}

/// <summary>
/// Starts a deposit: a pending transaction with a fresh MerchantTradeNo and an expiry by payment method,
/// and its timeout. Failure policy: the timeout is scheduled <em>inside</em> the database transaction,
/// before COMMIT. If scheduling throws, the insert is rolled back and the caller answers 503 — a deposit is
/// never committed without its timer (except with <c>StepFunctions:Disabled</c>, development only; a timer
/// that later ends in NeedsReview or is stopped is re-armed with <c>ecpay-events timeouts rearm</c>). (The reverse — a timer without a row, if COMMIT fails after
/// scheduling — is harmless: at expiry the execution finds no such payment and ends, outcome
/// <c>abandoned</c>, once ECPay confirms it never saw the order. The checkout URL is only handed out
/// after COMMIT, so ECPay never sees the rolled-back MerchantTradeNo.)
/// </summary>
public sealed partial class RequestDeposit(PaymentsDatabase database, IPaymentTimeoutScheduler scheduler, DepositOptions options, TimeProvider time, ILogger<RequestDeposit> log)
{
    public Dictionary<string, string[]> Validate(DepositRequest request, out string method)
    {
        var errors = new Dictionary<string, string[]>();
        method = "";
        var requested = request.PaymentMethod?.Trim();
        if (string.IsNullOrEmpty(requested))
            errors["paymentMethod"] = [$"is required: one of {string.Join(", ", options.AllowedMethods)}."];
        else if (options.AllowedMethods.FirstOrDefault(m => string.Equals(m, requested, StringComparison.OrdinalIgnoreCase)) is { } canonical)
            method = canonical;
        else
            errors["paymentMethod"] = [$"'{requested}' is not one of {string.Join(", ", options.AllowedMethods)}."];

        if (request.Amount is not { } amount)
            errors["amount"] = ["is required: a whole number of TWD."];
        else
        {
            var (min, max) = method.Length > 0 ? options.AmountRange(method) : (options.MinAmount, options.MaxAmount);
            if (amount < min || amount > max)
                errors["amount"] = [method.Length > 0 ? $"must be from {min} to {max} TWD for {method}." : $"must be from {min} to {max} TWD."];
        }

        if (request.ItemName is { } item && DepositItemName.Problem(item) is { } problem)
            errors["itemName"] = [problem];
        return errors;
    }

    /// <summary>Call <see cref="Validate"/> first; <paramref name="method"/> is its canonical ChoosePayment.</summary>
    public async Task<(DepositOutcome Outcome, DepositCreated? Deposit)> HandleAsync(Caller caller, long userId, DepositRequest request, string method, CancellationToken ct)
    {
        if (caller.IsOperator) return (DepositOutcome.Forbidden, null);
        var amount = request.Amount!.Value;
        var itemName = request.ItemName?.Trim() ?? MerchantTradeNumber.Describe(amount);
        var createdAt = DbTime.Microseconds(time.GetUtcNow());
        var expiry = DepositExpiry.For(method, createdAt, options.Expiry);
        var expiresAt = DbTime.Microseconds(expiry.ExpiresAt);

        await using var connection = await database.OpenAsync(ct);
        // Only the owner starts deposits on their balance (a user's sub never changes).
        if (!await GetUser.OwnsAsync(connection, caller, userId)) return (DepositOutcome.UserNotFound, null);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        long id = 0;
        string merchantTradeNo = "";
        for (var attempt = 1; ; attempt++)
        {
            merchantTradeNo = MerchantTradeNumber.New(options.MerchantTradeNoPrefix, createdAt);
            try
            {
                id = await connection.ExecuteScalarAsync<long>("""
                    INSERT INTO transactions (user_id, type, amount, status, merchant_trade_no, payment_method, item_name, expires_at, created_at, updated_at)
                    SELECT id, 'deposit', @amount, 'pending', @merchantTradeNo, @method, @itemName, @expiresAt, @createdAt, @createdAt FROM users WHERE id = @userId;
                    SELECT IF(ROW_COUNT() = 1, LAST_INSERT_ID(), 0);
                    """,
                    new { userId, amount, merchantTradeNo, method, itemName, expiresAt = expiresAt.UtcDateTime, createdAt = createdAt.UtcDateTime },
                    transaction);
                break;
            }
            catch (MySqlException e) when (e.ErrorCode == MySqlErrorCode.DuplicateKeyEntry && attempt < 5)
            {
                LogCollision(log, merchantTradeNo);
            }
        }
        if (id == 0)
        {
            await transaction.RollbackAsync(ct);
            return (DepositOutcome.UserNotFound, null);
        }

        try
        {
            await scheduler.ScheduleAsync(new PaymentTimeoutInput(id, merchantTradeNo, expiresAt), ct);
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            await transaction.RollbackAsync(CancellationToken.None);
            LogSchedulingFailed(log, e, merchantTradeNo, id);
            return (DepositOutcome.SchedulingFailed, null);
        }
        await transaction.CommitAsync(ct);
        LogCreated(log, merchantTradeNo, id, userId, amount, method, expiresAt);
        return (DepositOutcome.Created, new DepositCreated(id, userId, merchantTradeNo, amount, method, expiresAt, createdAt));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Deposit {MerchantTradeNo} (transaction {TransactionId}) created for user {UserId}: {Amount} TWD by {PaymentMethod}, expires {ExpiresAt:o}")]
    private static partial void LogCreated(ILogger logger, string merchantTradeNo, long transactionId, long userId, long amount, string paymentMethod, DateTimeOffset expiresAt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "MerchantTradeNo {MerchantTradeNo} collided; drawing another")]
    private static partial void LogCollision(ILogger logger, string merchantTradeNo);

    [LoggerMessage(Level = LogLevel.Error, Message = "Deposit {MerchantTradeNo} (transaction {TransactionId}) rolled back: its payment timeout could not be scheduled")]
    private static partial void LogSchedulingFailed(ILogger logger, Exception exception, string merchantTradeNo, long transactionId);
}

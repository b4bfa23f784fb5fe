namespace EcpayEvents.Settlement.Tests;

/// <summary>One stack shared by the tests of a class (they run one after another; each uses its own deposits).</summary>
public class StackFixture : IAsyncLifetime
{
    public SettlementStack Stack { get; private set; } = null!;

    protected virtual Task<SettlementStack> StartAsync() => SettlementStack.StartAsync(GetType().Name);

    public async ValueTask InitializeAsync() => Stack = await StartAsync();

    public async ValueTask DisposeAsync()
    {
        await Stack.DisposeAsync();
        GC.SuppressFinalize(this);
    }
}

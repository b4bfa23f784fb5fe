namespace EcpayEvents.Cli.CommandLine;

/// <summary>
/// Names the service behind an HTTP client in its connection errors, so that "cannot reach" says which one and where
/// (read by <see cref="EcpayEventsCommandLine"/>): "Step Functions at https://states.ap-northeast-1.amazonaws.com/".
/// </summary>
public sealed class NamedEndpointHandler(string service) : DelegatingHandler(new SocketsHttpHandler())
{
    public const string DataKey = "ecpay-events:endpoint";

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        try
        {
            return await base.SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException e)
        {
            e.Data[DataKey] = $"{service} at {request.RequestUri?.GetLeftPart(UriPartial.Authority)}";
            throw;
        }
    }
}

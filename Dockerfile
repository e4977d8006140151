# syntax=docker/dockerfile:1
# DesMoe for GPU hosts, two images from this file (docs/deploy.md, "Serving-only and adaptation images"):
#   adaptation (the default target): the server plus the adaptation worker in /app/worker. The server serves on ONNX
#       Runtime with the CUDA execution provider (the opt-in build property UseOnnxRuntimeGpu=true); AddDomain jobs
#       and the export of a model folder run in the worker (trainer, TorchSharp, libtorch-cpu), on CPU.
#   serving: the server alone, without the trainer, TorchSharp's natives or libtorch. It serves exported folders: the
#       bundled model's export is in the image (DesMoe__ModelPath); mount another one, or share the adapting
#       replica's store. AddDomain is refused with FAILED_PRECONDITION.
# Both serve on CPU when the container has no GPU (the provider preference "Auto" falls back).
#
# Build and run (on a machine with Docker; the dev machines have no Docker engine):
#   docker build -t desmoe-server .                          # adaptation: server + worker
#   docker build --target serving -t desmoe-serving .        # serving only
#   docker run --rm --gpus all -p 50051:50051 -p 9464:9464 -v desmoe-data:/data desmoe-server     # GPU
#   docker run --rm -p 50051:50051 -p 9464:9464 -v desmoe-data:/data desmoe-server                # CPU
# gRPC on 50051 (health: grpc.health.v1), Prometheus metrics on 9464 (/metrics), model versions, jobs and the
# generated admin token under the /data volume (or set DesMoe__Adaptation__AdminToken).
ARG CUDA_IMAGE=nvidia/cuda:13.0.1-cudnn-runtime-ubuntu24.04

# The server for linux-x64 only, without the worker (DesMoeBundleWorker=false does not even build it), and the CLI
# for the health check without libtorch (its remote commands, health among them, run no TorchSharp code).
FROM mcr.microsoft.com/dotnet/sdk:10.0-noble AS build
WORKDIR /src
COPY . .
RUN dotnet publish src/Server/DesMoe.Server.csproj -c Release -r linux-x64 --self-contained false -p:UseOnnxRuntimeGpu=true -p:DesMoeBundleWorker=false -o /out/server \
 && dotnet publish clients/cli/DesMoe.Cli.csproj -c Release -r linux-x64 --self-contained false -p:DesMoeRunsTorchSharp=false -o /out/cli

# The adaptation worker: the trainer, TorchSharp and libtorch-cpu (about 0.5 GB).
FROM build AS worker
RUN dotnet publish src/Worker/DesMoe.Worker.csproj -c Release -r linux-x64 --self-contained false -o /out/worker

# The bundled model's ONNX export, for the serving image (which cannot export: it has no worker).
FROM build AS bundled-export
RUN dotnet run --project clients/cli/DesMoe.Cli.csproj -c Release -- export models/base-v2 /out/base-onnx

FROM mcr.microsoft.com/dotnet/aspnet:10.0-noble AS dotnet

FROM ${CUDA_IMAGE} AS runtime
COPY --from=dotnet /usr/share/dotnet /usr/share/dotnet
RUN ln -s /usr/share/dotnet/dotnet /usr/bin/dotnet \
 && apt-get update && apt-get install -y --no-install-recommends libgomp1 libicu74 ca-certificates && rm -rf /var/lib/apt/lists/* \
 && useradd --uid 10001 --create-home desmoe && mkdir /data && chown desmoe /data
WORKDIR /app
COPY --from=build /out/server .
COPY --from=build /out/cli /cli
VOLUME /data
ENV DOTNET_ROOT=/usr/share/dotnet \
    Kestrel__Endpoints__Grpc__Url=http://0.0.0.0:50051 \
    Kestrel__Endpoints__Metrics__Url=http://0.0.0.0:9464 \
    Kestrel__Endpoints__Http__Url=http://0.0.0.0:8000 \
    DesMoe__DataDirectory=/data \
    DESMOE_ADDRESS=http://127.0.0.1:50051
EXPOSE 50051 8000 9464
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 CMD ["dotnet", "/cli/desmoe.dll", "health"]
ENTRYPOINT ["dotnet", "DesMoe.Server.dll"]

FROM runtime AS serving
COPY --from=bundled-export /out/base-onnx /app/models/base-onnx
ENV DesMoe__ModelPath=/app/models/base-onnx
USER desmoe

FROM runtime AS adaptation
# The server finds the worker in its worker/ folder (or at DesMoe__Adaptation__WorkerPath).
COPY --from=worker /out/worker /app/worker
USER desmoe

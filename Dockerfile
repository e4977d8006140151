# syntax=docker/dockerfile:1
# DesMoe server for GPU hosts: ONNX Runtime with the CUDA execution provider (the opt-in build property
# UseOnnxRuntimeGpu=true) on a CUDA 13 base. The same image serves on CPU when the container has no GPU (the
# provider preference "Auto" falls back). Adaptation jobs train on CPU (libtorch-cpu) in a worker process.
#
# Build and run (on a machine with Docker; the dev machines have no Docker engine):
#   docker build -t desmoe-server .
#   docker run --rm --gpus all -p 50051:50051 -p 9464:9464 -v desmoe-data:/data desmoe-server     # GPU
#   docker run --rm -p 50051:50051 -p 9464:9464 -v desmoe-data:/data desmoe-server                # CPU
# gRPC on 50051 (health: grpc.health.v1), Prometheus metrics on 9464 (/metrics), model versions, jobs and the
# generated admin token under the /data volume (or set DesMoe__Adaptation__AdminToken).
ARG CUDA_IMAGE=nvidia/cuda:13.0.1-cudnn-runtime-ubuntu24.04

FROM mcr.microsoft.com/dotnet/sdk:10.0-noble AS build
WORKDIR /src
COPY . .
RUN dotnet publish src/Server/DesMoe.Server.csproj -c Release -p:UseOnnxRuntimeGpu=true -o /app \
 && dotnet publish clients/cli/DesMoe.Cli.csproj -c Release -o /cli

FROM mcr.microsoft.com/dotnet/aspnet:10.0-noble AS dotnet

FROM ${CUDA_IMAGE} AS runtime
COPY --from=dotnet /usr/share/dotnet /usr/share/dotnet
RUN ln -s /usr/share/dotnet/dotnet /usr/bin/dotnet \
 && apt-get update && apt-get install -y --no-install-recommends libgomp1 libicu74 ca-certificates && rm -rf /var/lib/apt/lists/* \
 && useradd --uid 10001 --create-home desmoe && mkdir /data && chown desmoe /data
WORKDIR /app
COPY --from=build /app .
COPY --from=build /cli /cli
USER desmoe
VOLUME /data
ENV DOTNET_ROOT=/usr/share/dotnet \
    Kestrel__Endpoints__Grpc__Url=http://0.0.0.0:50051 \
    Kestrel__Endpoints__Metrics__Url=http://0.0.0.0:9464 \
    DesMoe__DataDirectory=/data \
    DESMOE_ADDRESS=http://127.0.0.1:50051
EXPOSE 50051 9464
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 CMD ["dotnet", "/cli/desmoe.dll", "health"]
ENTRYPOINT ["dotnet", "DesMoe.Server.dll"]

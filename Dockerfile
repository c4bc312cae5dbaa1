# RNN Explorer for a public server: CPU-only torch, non-root, one torch thread per visitor.
#   docker build -t rnn-explorer . && docker run -p 8501:8501 rnn-explorer
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# torch first, from the CPU index: PyPI's default torch wheel pulls in GBs of CUDA.
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
COPY requirements.txt .
RUN pip install -r requirements.txt

RUN useradd --create-home --uid 10001 explorer
# The app code belongs to root and is read-only: the user it runs as cannot change what it serves.
COPY . .
RUN chmod -R a-w,a+rX /app
USER explorer

# Visitors share the cores: each training worker gets one torch thread.
ENV RNNX_TORCH_THREADS=1
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import urllib.request, sys; sys.exit(urllib.request.urlopen('http://localhost:8501/_stcore/health', timeout=4).read() != b'ok')"

CMD ["streamlit", "run", "app.py", "--server.port=8501", "--server.address=0.0.0.0"]

# A CUDA LibTorch without a CUDA toolkit.
#
# find_package(Torch) on a CUDA build includes Caffe2's public/cuda.cmake, which looks for a
# whole toolkit (nvcc, FindCUDA) and stops without one; Python wheels ship none. semihard
# compiles no CUDA source: it only calls LibTorch, whose own libraries carry their CUDA
# dependencies. cuda.cmake returns at once when the target torch::cudart exists, so this
# file defines that target from the CUDA runtime the wheel installed (PyPI's nvidia-* wheels:
# headers and libcudart), before find_package(Torch). Nothing here needs nvcc.
#
# Sets, in the caller's scope:
#   SEMIHARD_TORCH_PREFIX        the LibTorch that find_package(Torch) will take (or "")
#   SEMIHARD_TORCH_CUDA          ON when it is a CUDA build
#   SEMIHARD_CUDA_INCLUDE_DIRS   the CUDA runtime's headers (cuda_runtime_api.h), if found
#   SEMIHARD_CUDA_LIBRARY_DIRS   the NVIDIA library folders next to it, for the RPATH
# SEMIHARD_CUDA_TOOLKIT=ON leaves everything to Caffe2's cuda.cmake (a system toolkit).

option(SEMIHARD_CUDA_TOOLKIT "Configure a CUDA LibTorch through a system CUDA toolkit (Caffe2's cuda.cmake) instead of the wheel's runtime" OFF)

# The folder holding TorchConfig.cmake that find_package(Torch) would use.
function(semihard_find_torch_config out)
  set(candidates "")
  if(Torch_DIR)
    list(APPEND candidates "${Torch_DIR}")
  endif()
  foreach(prefix IN LISTS CMAKE_PREFIX_PATH)
    list(APPEND candidates "${prefix}/share/cmake/Torch" "${prefix}/Torch" "${prefix}")
  endforeach()
  foreach(dir IN LISTS candidates)
    if(EXISTS "${dir}/TorchConfig.cmake")
      get_filename_component(dir "${dir}" ABSOLUTE)
      set(${out} "${dir}" PARENT_SCOPE)
      return()
    endif()
  endforeach()
  set(${out} "" PARENT_SCOPE)
endfunction()

semihard_find_torch_config(_semihard_torch_config)
set(SEMIHARD_TORCH_PREFIX "")
set(SEMIHARD_TORCH_CUDA OFF)
set(SEMIHARD_CUDA_INCLUDE_DIRS "")
set(SEMIHARD_CUDA_LIBRARY_DIRS "")
if(_semihard_torch_config)
  get_filename_component(SEMIHARD_TORCH_PREFIX "${_semihard_torch_config}/../../.." ABSOLUTE)
  if(EXISTS "${SEMIHARD_TORCH_PREFIX}/lib/libtorch_cuda.so")
    set(SEMIHARD_TORCH_CUDA ON)
  endif()
endif()

if(SEMIHARD_TORCH_CUDA)
  # Wheels: site-packages/torch next to site-packages/nvidia/<package>/{include,lib}
  # (CUDA 13: nvidia/cu13; CUDA 12: nvidia/cuda_runtime, nvidia/cublas, ...). An unpacked
  # LibTorch keeps its CUDA libraries in its own lib/. A toolkit, if any, comes last.
  file(GLOB _semihard_nvidia_dirs LIST_DIRECTORIES true "${SEMIHARD_TORCH_PREFIX}/../nvidia/*")
  foreach(dir IN LISTS _semihard_nvidia_dirs)
    get_filename_component(dir "${dir}" ABSOLUTE)
    if(IS_DIRECTORY "${dir}/lib")
      list(APPEND SEMIHARD_CUDA_LIBRARY_DIRS "${dir}/lib")
    endif()
  endforeach()
  set(_semihard_cuda_include_hints "")
  foreach(dir IN LISTS _semihard_nvidia_dirs)
    list(APPEND _semihard_cuda_include_hints "${dir}/include")
  endforeach()
  unset(SEMIHARD_CUDA_RUNTIME_INCLUDE CACHE)  # looked up afresh: the LibTorch may have changed
  find_path(SEMIHARD_CUDA_RUNTIME_INCLUDE cuda_runtime_api.h
            HINTS ${_semihard_cuda_include_hints} "${SEMIHARD_TORCH_PREFIX}/include"
            PATHS ENV CUDA_HOME /usr/local/cuda PATH_SUFFIXES include)
  find_library(SEMIHARD_CUDART_LIBRARY NAMES cudart libcudart.so.13 libcudart.so.12 NAMES_PER_DIR
               HINTS ${SEMIHARD_CUDA_LIBRARY_DIRS} "${SEMIHARD_TORCH_PREFIX}/lib"
               PATHS ENV CUDA_HOME /usr/local/cuda PATH_SUFFIXES lib64 lib NO_CACHE)
  # cuda_runtime_api.h includes crt/host_defines.h and cuda_fp16.h includes CCCL's nv/target,
  # which PyPI ships apart (nvidia-cuda-crt, nvidia-cuda-cccl: the CUDA flavour provisions them
  # as cuda-toolkit[crt,cccl]); without them the headers are unusable.
  unset(SEMIHARD_CUDA_CRT_INCLUDE CACHE)  # looked up afresh: the LibTorch may have changed
  find_path(SEMIHARD_CUDA_CRT_INCLUDE crt/host_defines.h
            HINTS ${_semihard_cuda_include_hints} "${SEMIHARD_CUDA_RUNTIME_INCLUDE}"
            PATHS ENV CUDA_HOME /usr/local/cuda PATH_SUFFIXES include)
  unset(SEMIHARD_CUDA_CCCL_INCLUDE CACHE)  # looked up afresh: the LibTorch may have changed
  find_path(SEMIHARD_CUDA_CCCL_INCLUDE nv/target
            HINTS ${_semihard_cuda_include_hints} "${SEMIHARD_CUDA_RUNTIME_INCLUDE}"
            PATHS ENV CUDA_HOME /usr/local/cuda PATH_SUFFIXES include include/cccl)
  if(SEMIHARD_CUDA_RUNTIME_INCLUDE AND SEMIHARD_CUDA_CRT_INCLUDE AND SEMIHARD_CUDA_CCCL_INCLUDE)
    list(APPEND SEMIHARD_CUDA_INCLUDE_DIRS "${SEMIHARD_CUDA_RUNTIME_INCLUDE}" "${SEMIHARD_CUDA_CRT_INCLUDE}"
         "${SEMIHARD_CUDA_CCCL_INCLUDE}")
    list(REMOVE_DUPLICATES SEMIHARD_CUDA_INCLUDE_DIRS)
  else()
    message(STATUS "semihard: the CUDA runtime's headers are incomplete (cuda_runtime_api.h: '${SEMIHARD_CUDA_RUNTIME_INCLUDE}', "
                   "crt/host_defines.h: '${SEMIHARD_CUDA_CRT_INCLUDE}', nv/target: '${SEMIHARD_CUDA_CCCL_INCLUDE}'; "
                   "pip install nvidia-cuda-crt nvidia-cuda-cccl): building without the NCCL backend and CUDA device names")
  endif()
  if(SEMIHARD_CUDA_TOOLKIT)
    message(STATUS "semihard: CUDA LibTorch, configured through the system CUDA toolkit (SEMIHARD_CUDA_TOOLKIT)")
  elseif(NOT TARGET torch::cudart)
    add_library(torch::cudart INTERFACE IMPORTED)
    if(SEMIHARD_CUDA_INCLUDE_DIRS)
      set_property(TARGET torch::cudart PROPERTY INTERFACE_INCLUDE_DIRECTORIES "${SEMIHARD_CUDA_INCLUDE_DIRS}")
    endif()
    if(SEMIHARD_CUDART_LIBRARY)
      set_property(TARGET torch::cudart PROPERTY INTERFACE_LINK_LIBRARIES "${SEMIHARD_CUDART_LIBRARY}")
    endif()
    # TorchConfig.cmake adds CUDA_NVRTC_LIB to TORCH_LIBRARIES; libtorch_cuda loads NVRTC itself.
    set(CUDA_NVRTC_LIB "")
    message(STATUS "semihard: CUDA LibTorch without a toolkit: runtime headers "
                   "'${SEMIHARD_CUDA_RUNTIME_INCLUDE}', libcudart '${SEMIHARD_CUDART_LIBRARY}'")
  endif()
endif()
